"""GET /healthz: the engine is up and its index answers; what the chat model is doing.

What it says of the index (documents, passages, `citeqa info`'s facts) is a snapshot taken on a
thread of its own and served from memory: computed on each request it waited for Milvus while an
ingest wrote, and read package metadata and the .env file on the event loop, so /healthz took
1.2 s under a flood of uploads (#22). A snapshot older than FRESH_S is answered as it is while
the next is taken in the background; `checked_s_ago` says how old it is. After an upload or a
removal a request waits for a new one, so that counts follow changes: up to QUIET_WAIT_S when
no other change is under way, BUSY_WAIT_S while one is (it may hold the index for minutes). Only
the first request waits for one as long as it takes.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from citeqa.core.errors import CiteqaError
from citeqa.engine import Citeqa
from citeqa.info import facts
from citeqa.server.errors import ApiError, error_body, from_citeqa, unexpected

router = APIRouter()

FRESH_S = 2.0
QUIET_WAIT_S = 5.0
BUSY_WAIT_S = 0.1


@dataclass(frozen=True)
class IndexState:
    """The index as last seen: its counts and facts, or why it could not be read."""

    taken: float  # time.monotonic() when taken
    generation: int  # HealthSnapshot.changed() calls before it was begun
    documents: int = 0
    info: dict[str, Any] | None = None
    error: ApiError | None = None


class HealthSnapshot:
    """IndexState of `engine`, taken by one thread of its own, at most one at a time."""

    def __init__(
        self, engine: Citeqa, busy: Callable[[], bool] = lambda: False, fresh_s: float = FRESH_S
    ) -> None:
        """`busy`: whether an index change is running or waiting (the app's WriteLine)."""
        self._engine = engine
        self._busy = busy
        self._fresh_s = fresh_s
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citeqa-health")
        self._lock = threading.Lock()
        self._state: IndexState | None = None
        self._pending: Future[IndexState] | None = None
        self._generation = 0

    def changed(self) -> None:
        """The index changed (an upload or removal ended): the snapshot no longer holds."""
        with self._lock:
            self._generation += 1

    def refresh(self) -> Future[IndexState]:
        """Start taking a snapshot unless one is being taken; the future of the one under way."""
        with self._lock:
            if self._pending is None or self._pending.done():
                self._pending = self._pool.submit(self._take)
            return self._pending

    async def current(self) -> IndexState:
        """The last snapshot (a newer one started if it is stale); the first is waited for."""
        state = self._state
        if state is None:
            return await asyncio.wrap_future(self.refresh())
        if state.generation < self._generation:
            wait = BUSY_WAIT_S if self._busy() else QUIET_WAIT_S
            try:
                return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self.refresh())), wait)
            except TimeoutError:
                return state
        if time.monotonic() - state.taken > self._fresh_s:
            self.refresh()
        return state

    def _take(self) -> IndexState:
        engine = self._engine
        generation = self._generation
        try:
            documents = len(engine.documents())
            passages = 0 if engine.index_missing() else engine.store.count_chunks()
            # What `citeqa info` says: the same facts wherever citeqa is asked.
            state = IndexState(
                time.monotonic(), generation, documents, facts(engine.settings, counts=(documents, passages))
            )
        except Exception as exc:  # reported as 503 until a snapshot succeeds
            err = from_citeqa(exc) if isinstance(exc, CiteqaError) else unexpected(exc)
            state = IndexState(time.monotonic(), generation, error=err)
        self._state = state
        return state

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    state = await request.app.state.health.current()
    age = round(time.monotonic() - state.taken, 1)
    if state.error is not None:
        body = error_body(503, state.error.message, code=state.error.code)
        return JSONResponse({"status": "unavailable", "checked_s_ago": age, **body}, 503)
    stats = request.app.state.answers
    return JSONResponse(
        {
            "status": "ok",
            "collection": engine.settings.collection,
            "documents": state.documents,
            "info": state.info,
            "checked_s_ago": age,  # how old the index's counts are (at most a few seconds)
            "chat_model": {
                "answering": stats.in_progress,  # questions being answered, evidence first
                "generating": engine.turns.running,  # of those, the ones the model is writing
                "waiting": engine.turns.waiting,  # questions in line for the model
                "max_waiting": engine.turns.max_waiting,
                "answered": stats.completed,
                "stopped": stats.stopped,
            },
        }
    )
