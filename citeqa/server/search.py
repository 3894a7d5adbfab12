"""POST /v1/search: the passages that best match a query, without generating an answer."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from citeqa.server.chat import collection_of
from citeqa.server.limits import check_query, check_retrieval
from citeqa.server.schemas import SearchRequest

router = APIRouter()


@router.post("/v1/search")
async def search(body: SearchRequest, request: Request) -> dict:
    """Hits as `citeqa search --json` prints them: source, page, location, text, score, chunk_id;
    from the collection `model` (or `collection`) names, else the server's own."""
    engine = await run_in_threadpool(collection_of, request.app.state.engine, body.model, body.collection)
    check_query(engine.settings, body.query)
    check_retrieval(engine.settings, body.top_k, body.sources)
    hits = await run_in_threadpool(
        engine.search, body.query, top_k=body.top_k, mode=body.mode, sources=tuple(body.sources)
    )
    return {"query": body.query, "hits": [h.to_dict() for h in hits]}
