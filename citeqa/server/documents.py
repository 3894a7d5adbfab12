"""/v1/documents: list, upload (multipart, ingested like the web app's uploads) and remove documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from citeqa.core.errors import IngestBusy
from citeqa.core.types import UploadResult
from citeqa.server.chat import collection_of
from citeqa.server.errors import ApiError, from_citeqa
from citeqa.server.uploads import discard, read_all, receive_files
from citeqa.server.writes import WriteLine

router = APIRouter()

# The collection a request works on, as /v1/chat/completions' `model` names it (or `collection`).
Model = Annotated[str | None, Query(description="the collection (GET /v1/models); default: the server's own")]
Collection = Annotated[str | None, Query(description="the same as `model`")]


@router.get("/v1/documents")
async def list_documents(request: Request, model: Model = None, collection: Collection = None) -> dict:
    """The documents of the collection; with nothing indexed, 409 no_documents as for a question or
    a search (issue 24: listing an empty index says where it looked and how to add documents)."""
    engine = await run_in_threadpool(collection_of, request.app.state.engine, model, collection)
    records = await run_in_threadpool(_listed, engine)
    return {"object": "list", "data": [r.to_dict() for r in records]}


def _listed(engine) -> list:
    engine.require_documents()
    return engine.documents()


def _line(request: Request) -> WriteLine:
    return request.app.state.writes


def _taken(request: Request) -> WriteLine:
    """The write line with a place taken, or 429 with Retry-After when it is full."""
    line = _line(request)
    try:
        line.take()
    except IngestBusy as exc:
        raise from_citeqa(exc, line.retry_after_s()) from None
    return line


@router.post(
    "/v1/documents",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "array", "items": {"type": "string", "format": "binary"}}},
                        "required": ["file"],
                    }
                }
            },
        }
    },
)
async def upload_documents(request: Request, model: Model = None, collection: Collection = None) -> dict:
    """Store and ingest uploaded files (multipart `file` parts, repeated); one report per file, in
    order, with `status` "added", "unchanged" or "failed" and the reason. Names are made safe and
    kept inside the data dir's uploads folder; a file that fails leaves no copy behind. A file over
    CITEQA_MAX_FILE_MB, or more than CITEQA_MAX_UPLOAD_FILES files, is refused (413) as it arrives;
    with CITEQA_MAX_INGEST_WAITING changes already waiting, the request is refused (429) at once.
    Into the collection `model` (or `collection`) names, else the server's own."""
    engine = await run_in_threadpool(collection_of, request.app.state.engine, model, collection)
    line = _taken(request)
    try:
        received = await receive_files(request, engine.settings)
    except BaseException:
        line.give_back()
        raise

    def ingest() -> list[UploadResult]:
        try:
            return engine.ingest_uploads(read_all(received))
        finally:
            discard(received)

    report = await line.run(ingest)
    failed = sum(1 for r in report if r.result.status == "failed")
    return {
        "object": "list",
        "data": [r.to_dict() for r in report],
        "added": sum(1 for r in report if r.result.status in ("added", "replaced")),
        "failed": failed,
    }


@router.delete("/v1/documents")
async def delete_document(
    request: Request,
    path: Annotated[str, Query(min_length=1, description="a document's path as GET /v1/documents lists it, or a folder")],
    recursive: Annotated[bool, Query(description="a folder: remove every document under it (refused without)")] = False,
    model: Model = None,
    collection: Collection = None,
) -> dict:
    engine = await run_in_threadpool(collection_of, request.app.state.engine, model, collection)
    removed = await _taken(request).run(lambda: engine.remove([path], recursive=recursive))
    if not removed:
        raise ApiError(
            404, f"no ingested document matches '{path}' (GET /v1/documents lists them)", param="path", code="not_found"
        )
    return {"removed": removed}
