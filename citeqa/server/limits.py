"""What one request may carry: the body's size, checked before it is read, and each field's length.

The body cap is ASGI middleware, in front of every route: a request that declares a longer body
(Content-Length) is answered 413 before a byte of it is read, and one that sends more than it may
(chunked, or lying about its length) is stopped at the cap. Uploads have their own, larger cap,
and their files are capped one by one as they stream in (citeqa/server/uploads.py). Field
lengths are checked after parsing, against the same settings, with messages that name them (by
the HTTP API and the MCP tools alike).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citeqa.core.errors import TooLarge
from citeqa.core.settings import Settings
from citeqa.server.errors import error_body

UPLOAD_PATH = "/v1/documents"
# Multipart headers and boundaries around each file: generous, since each file is capped itself.
_PART_OVERHEAD = 64 * 1024


def body_limit(settings: Settings, method: str, path: str) -> tuple[int, str]:
    """The most bytes a request's body may have, and the setting that says so."""
    if method == "POST" and path.rstrip("/") == UPLOAD_PATH:
        per_file = settings.max_file_bytes + _PART_OVERHEAD
        return settings.max_upload_files * per_file, "CITEQA_MAX_FILE_MB and CITEQA_MAX_UPLOAD_FILES"
    return settings.max_request_kb * 1024, "CITEQA_MAX_REQUEST_KB"


def too_large_message(limit: int, setting: str, size: int | None = None) -> str:
    told = f" ({size / 2**20:.1f} MB)" if size is not None else ""
    return f"the request body{told} is over the limit of {limit / 2**20:.2f} MB ({setting})"


class BodyLimit:
    """413 in OpenAI's error shape for a body over its cap, without reading it first."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = body_limit(self.settings, scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, too_large_message(limit, setting, declared))
            return
        received = 0

        async def capped() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException passes through FastAPI's body reading unchanged (other errors
                    # become a 400) to the app's handler, which answers in the error shape.
                    raise HTTPException(413, too_large_message(limit, setting), headers={"Connection": "close"})
            return message

        await self.app(scope, capped, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps(error_body(413, message, code="too_large")).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        # The body is not read: the connection cannot carry another request after this one.
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# The field checks raise citeqa's own error, so that the MCP tools use them as the HTTP API does.
def over(what: str, limit: int, setting: str, param: str) -> TooLarge:
    return TooLarge(f"{what} over the limit of {limit} ({setting})", setting, param)


def check_retrieval(settings: Settings, top_k: int | None, sources: Sequence[str]) -> None:
    """`top_k` and `sources` within the settings' bounds (TooLarge naming the setting)."""
    if top_k is not None and top_k > settings.max_top_k:
        raise over(f"top_k {top_k} is", settings.max_top_k, "CITEQA_MAX_TOP_K", "top_k")
    if len(sources) > settings.max_sources:
        raise over(f"{len(sources)} sources globs are", settings.max_sources, "CITEQA_MAX_SOURCES", "sources")
    for i, glob in enumerate(sources):
        if len(glob) > settings.max_source_chars:
            raise over(
                f"sources[{i}] has {len(glob)} characters,", settings.max_source_chars, "CITEQA_MAX_SOURCE_CHARS", f"sources.{i}"
            )


def check_query(settings: Settings, query: str) -> None:
    if len(query) > settings.max_query_chars:
        raise over(f"the query has {len(query)} characters,", settings.max_query_chars, "CITEQA_MAX_QUERY_CHARS", "query")


def check_messages(settings: Settings, texts: Sequence[str]) -> None:
    if len(texts) > settings.max_messages:
        raise over(f"{len(texts)} messages are", settings.max_messages, "CITEQA_MAX_MESSAGES", "messages")
    total = sum(len(t) for t in texts)
    if total > settings.max_message_chars:
        raise over(
            f"the messages have {total} characters in all,", settings.max_message_chars, "CITEQA_MAX_MESSAGE_CHARS", "messages"
        )
