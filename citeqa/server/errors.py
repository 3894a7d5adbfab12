"""Every error the HTTP API answers, as OpenAI's clients expect it:

    {"error": {"message": "...", "type": "invalid_request_error", "param": "messages", "code": null}}

with a 4xx status for the client's mistakes, 429 with Retry-After when the chat model's line is
full, 503 when the index or the model cannot be used, and 500 with a generic message (the details
go to the log) for anything unexpected. Never a traceback.
"""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from citeqa.core.errors import (
    CiteqaError,
    ConfigError,
    DocumentError,
    IngestBusy,
    ModelBusy,
    ModelError,
    NoDocuments,
    Refused,
    StoreError,
    TooLarge,
)

log = logging.getLogger("citeqa.server")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """A request the API refuses, with the status, message and offending field to report."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict | None = None,
        extra: dict | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}
        self.extra = extra or {}  # members of the body beside "error"


def error_body(status: int, message: str, *, param: str | None = None, code: str | None = None) -> dict:
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(err: ApiError) -> JSONResponse:
    body = error_body(err.status, err.message, param=err.param, code=err.code) | err.extra
    return JSONResponse(body, err.status, err.headers)


def from_citeqa(exc: CiteqaError, retry_after_s: float = 5.0) -> ApiError:
    """The status a citeqa error deserves; the message is already written for users."""
    if isinstance(exc, ModelBusy):
        seconds = str(max(1, math.ceil(retry_after_s)))
        return ApiError(429, str(exc), code="model_busy", headers={"Retry-After": seconds})
    if isinstance(exc, IngestBusy):
        seconds = str(max(1, math.ceil(retry_after_s)))
        return ApiError(429, str(exc), code="ingest_busy", headers={"Retry-After": seconds})
    if isinstance(exc, TooLarge):  # a field too long (a body too large is answered before it is read)
        return ApiError(400, str(exc), param=exc.field, code="too_long")
    if isinstance(exc, Refused):
        return ApiError(400, str(exc), code="refused")
    if isinstance(exc, NoDocuments):  # the index's state, not the request, is what conflicts
        return ApiError(409, str(exc), code="no_documents")
    if isinstance(exc, DocumentError):
        return ApiError(400, str(exc), code="bad_document")
    if isinstance(exc, ConfigError):
        return ApiError(400, str(exc), code="bad_setting")
    if isinstance(exc, ModelError):
        return ApiError(503, str(exc), code="model_unavailable")
    if isinstance(exc, StoreError):
        return ApiError(503, str(exc), code="index_unavailable")
    return ApiError(500, str(exc), code="citeqa_error")


def unexpected(exc: BaseException, *, logged: bool = False) -> ApiError:
    if not logged:
        log.error("unexpected error while serving a request", exc_info=exc)
    return ApiError(500, "internal error; the server's log (citeqa serve -v) has the details", code="internal_error")


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(x) for x in first.get("loc", ())]
    where = loc.pop(0) if loc and loc[0] in ("body", "query", "path", "header") else ""
    param = ".".join(loc) or None
    msg = first.get("msg", "invalid request")
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    if where == "body" and param is None:
        return "the request body must be a JSON object (Content-Type: application/json)", None
    if first.get("type") == "missing":
        return f"missing required field '{param}'", param
    return (f"invalid '{param}': {msg}" if param else msg), param


def install(app: FastAPI) -> None:
    """Route every error through one JSON shape."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return error_response(ApiError(400, message, param=param))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        messages = {
            404: f"no such endpoint: {request.method} {request.url.path} (see the README's HTTP API section)",
            405: f"{request.method} is not allowed on {request.url.path}",
        }
        message = messages.get(exc.status_code) or str(exc.detail)
        code = "too_large" if exc.status_code == 413 else None  # a body stopped at its cap (limits.py)
        return error_response(ApiError(exc.status_code, message, code=code, headers=dict(exc.headers or {})))

    @app.exception_handler(CiteqaError)
    async def _citeqa(request: Request, exc: CiteqaError) -> JSONResponse:
        waiting = request.app.state.engine.turns.waiting
        return error_response(from_citeqa(exc, request.app.state.answers.retry_after_s(waiting)))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette re-raises after this answer, and uvicorn logs the traceback then.
        return error_response(unexpected(exc, logged=True))
