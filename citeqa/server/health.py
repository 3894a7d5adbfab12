"""GET /healthz: the engine is up and its index answers; what the chat model is doing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from citeqa.core.errors import CiteqaError
from citeqa.info import facts
from citeqa.server.errors import error_body, from_citeqa, unexpected

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    engine = request.app.state.engine
    try:
        documents = len(await run_in_threadpool(engine.documents))
        passages = 0 if engine.index_missing() else await run_in_threadpool(lambda: engine.store.count_chunks())
    except Exception as exc:
        err = from_citeqa(exc) if isinstance(exc, CiteqaError) else unexpected(exc)
        return JSONResponse({"status": "unavailable", **error_body(503, err.message, code=err.code)}, 503)
    stats = request.app.state.answers
    return JSONResponse(
        {
            "status": "ok",
            "collection": engine.settings.collection,
            "documents": documents,
            # What `citeqa info` says: the same facts wherever citeqa is asked.
            "info": facts(engine.settings, counts=(documents, passages)),
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
