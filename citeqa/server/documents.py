"""/v1/documents: list, upload (multipart, ingested like the web app's uploads) and remove documents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from citeqa.core.types import FileResult, UploadResult
from citeqa.server.errors import ApiError

router = APIRouter()


@router.get("/v1/documents")
async def list_documents(request: Request) -> dict:
    records = await run_in_threadpool(request.app.state.engine.documents)
    return {"object": "list", "data": [r.to_dict() for r in records]}


def _too_large(name: str, size: int, limit: int) -> UploadResult:
    # Refused before reading it into memory; the same words as the engine's own size check.
    error = f"file is {size / 2**20:.1f} MB, over the {limit / 2**20:g} MB limit (CITEQA_MAX_FILE_MB)"
    return UploadResult(name, FileResult("", "failed", error=error))


@router.post("/v1/documents")
async def upload_documents(
    request: Request,
    file: Annotated[list[UploadFile], File(description="one or more files (PDF, text, Markdown); repeat the field")],
) -> dict:
    """Store and ingest uploaded files; one report per file, in order, with `status` "added",
    "unchanged" or "failed" and the reason. Names are made safe and kept inside the data dir's
    uploads folder; a file that fails leaves no copy behind."""
    engine = request.app.state.engine
    limit = engine.settings.max_file_bytes
    results: list[UploadResult | None] = []
    uploads: list[tuple[str, bytes]] = []
    for f in file:
        name = f.filename or "upload"
        if f.size is not None and f.size > limit:
            results.append(_too_large(name, f.size, limit))
            continue
        uploads.append((name, await f.read()))
        results.append(None)
    ingested = iter(await run_in_threadpool(engine.ingest_uploads, uploads) if uploads else [])
    report = [r if r is not None else next(ingested) for r in results]
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
) -> dict:
    removed = await run_in_threadpool(request.app.state.engine.remove, [path])
    if not removed:
        raise ApiError(
            404, f"no ingested document matches '{path}' (GET /v1/documents lists them)", param="path", code="not_found"
        )
    return {"removed": removed}
