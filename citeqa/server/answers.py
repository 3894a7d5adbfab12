"""Questions to the chat model, answered on worker threads and handed to the event loop piece by piece.

The engine's answer stream is blocking (llama.cpp), so each question runs on a thread of its own:
it iterates the events of `engine.ask_stream` (the evidence first; then, in the engine's
ModelGate, the chat model's one line shared with every other question this process answers, its
checked sentences) and posts them to an asyncio queue. The request handler reads them, and calls
`stop()` when its client goes away: the answer stream is closed at its next event (a waiting
question hears every half second), which leaves the line or stops generation and gives the model
to the next in line. Every generator operation happens on the one thread that iterates it (a
generator cannot be closed from another thread while it runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from citeqa.answer.model_gate import ModelGate
from citeqa.answer.stream import AnswerStream
from citeqa.core.errors import ModelBusy
from citeqa.core.events import Done, Draft, Waiting, text_of
from citeqa.core.settings import RetrievalMode
from citeqa.core.types import Answer, History
from citeqa.engine import Citeqa

log = logging.getLogger("citeqa.server")


class FailedAfterShowing(Exception):
    """An answer that failed (the chat model server stopped, timed out, refused) after `shown`, the
    text it had already given: the evidence answer first. A streamed answer has sent it already;
    a whole one must still give it, beside the error."""

    def __init__(self, error: BaseException, shown: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.shown = shown

EventKind = Literal["queued", "started", "piece", "done", "stopped", "error"]
CLIENT_LEFT, SHUTDOWN = "client left", "shutdown"  # why an answer was stopped


@dataclass(frozen=True)
class Event:
    kind: EventKind
    value: Any = None


@dataclass
class Answers:
    """The questions a server is answering, and what it has answered (for /healthz and for 429's
    Retry-After)."""

    completed: int = 0
    stopped: int = 0  # answers stopped before their end: the client went away
    mean_s: float = 5.0  # a moving average of the time a question holds the model
    _active: set[AnswerJob] = field(default_factory=set, repr=False)
    _lock: threading.Condition = field(default_factory=threading.Condition, repr=False)

    def record(self, seconds: float, *, stopped: bool) -> None:
        with self._lock:
            if stopped:
                self.stopped += 1
                return
            self.completed += 1
            self.mean_s = seconds if self.completed == 1 else 0.8 * self.mean_s + 0.2 * seconds

    @property
    def in_progress(self) -> int:
        with self._lock:
            return len(self._active)

    def retry_after_s(self, waiting: int = 1) -> float:
        """About when a turn may be free: the questions in line, each taking the usual time."""
        return self.mean_s * max(1, waiting)

    def admit(self, job: AnswerJob, turns: ModelGate) -> None:
        """Count `job` in, or refuse it with ModelBusy when the chat model already has as many
        questions as it may run and hold in line: refused here, before a response has begun,
        a client gets a clean 429 rather than an error in the middle of its stream."""
        with self._lock:
            if len(self._active) >= turns.slots + turns.max_waiting:
                raise ModelBusy(max(0, len(self._active) - turns.slots))
            self._active.add(job)

    def track(self, job: AnswerJob, *, active: bool) -> None:
        with self._lock:
            (self._active.add if active else self._active.discard)(job)
            self._lock.notify_all()

    def wait_idle(self) -> None:
        """Wait until no question is being answered: the engine may not be closed under one (its
        worker would go on with a freed model)."""
        with self._lock:
            self._lock.wait_for(lambda: not self._active)

    def stop_all(self) -> None:
        """The server is stopping: every question ends now, its client told so."""
        with self._lock:
            jobs = list(self._active)
        for job in jobs:
            job.stop(SHUTDOWN)


@dataclass(frozen=True)
class Question:
    text: str
    history: History = ()
    top_k: int | None = None
    mode: RetrievalMode | None = None
    sources: Sequence[str] = ()
    temperature: float | None = None


class AnswerJob:
    def __init__(self, engine: Citeqa, question: Question, answers: Answers) -> None:
        self._engine = engine
        self._question = question
        self._answers = answers
        self.stop_reason: str | None = None
        self._loop = asyncio.get_running_loop()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._stop = threading.Event()
        self._told_queued = False
        self._told_started = False
        self._stream: AnswerStream | None = None
        self._thread = threading.Thread(target=self._run, name="citeqa-answer", daemon=True)

    def start(self) -> AnswerJob:
        self._answers.admit(self, self._engine.turns)
        self._thread.start()
        return self

    def stop(self, reason: str = CLIENT_LEFT) -> None:
        """Leave the line, or stop generating at the next piece; whoever reads the events gets a
        "stopped" event at once. Safe to call any number of times, from any thread."""
        if self._stop.is_set():
            return
        self.stop_reason = reason
        self._stop.set()
        if self._stream is not None:
            self._stream.close()  # safe from any thread: the worker sees it at its next step
        self._emit("stopped", reason)

    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after `timeout` seconds without one."""
        try:
            return await asyncio.wait_for(self._events.get(), timeout)
        except TimeoutError:
            return None

    # -- the worker thread -------------------------------------------------------

    def _emit(self, kind: EventKind, value: Any = None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed: the server is stopping
            self._loop.call_soon_threadsafe(self._events.put_nowait, Event(kind, value))

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            answer = self._answer()
            self._answers.record(time.perf_counter() - started, stopped=answer is None)
            self._emit("stopped" if answer is None else "done", answer)
        except BaseException as exc:
            self._emit("error", exc)
        finally:
            self._answers.track(self, active=False)

    def _answer(self) -> Answer | None:
        """The finished Answer, or None if stopped before the end."""
        q = self._question
        stream = self._engine.ask_stream(
            q.text, top_k=q.top_k, mode=q.mode, sources=q.sources, history=q.history, temperature=q.temperature
        )
        self._stream = stream
        if self._stop.is_set():  # stopped during retrieval
            stream.close()
            return None
        events = stream.events()
        try:
            for event in events:
                if self._stop.is_set():
                    log.info("answer stopped: %s", self.stop_reason)
                    return None
                if isinstance(event, Waiting):
                    if not self._told_queued:
                        self._told_queued = True
                        self._emit("queued", event.position)
                    continue
                if isinstance(event, Draft) and not self._told_started:
                    self._told_started = True  # the model has its turn and is writing
                    self._emit("started")
                if text := text_of(event):
                    self._emit("piece", text)
                if isinstance(event, Done):
                    return event.answer
        finally:
            events.close()  # stops generation, or leaves the line, when we leave early
            stream.close()
        return None


async def wait_for_answer(job: AnswerJob, *, gone: Callable[[], Awaitable[bool]] | None = None) -> Answer | None:
    """The job's finished Answer (None if it was stopped); its error, if any, is raised here, as
    FailedAfterShowing once text was given. `gone()` is asked every second and stops the job when
    it says the client has left."""
    shown: list[str] = []
    try:
        while True:
            event = await job.next(timeout=1.0)
            if event is None:
                if gone is not None and await gone():
                    return None
                continue
            if event.kind == "piece":
                shown.append(event.value)
            elif event.kind == "done":
                return event.value
            elif event.kind == "stopped":
                return None
            elif event.kind == "error":
                if shown:
                    raise FailedAfterShowing(event.value, "".join(shown))
                raise event.value
    finally:
        job.stop()
