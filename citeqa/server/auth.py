"""Bearer-token authentication for citeqa's servers (CITEQA_API_KEY), as ASGI middleware.

Plain ASGI rather than a FastAPI dependency, so that the same gate stands in front of the HTTP API
and of the MCP server's Starlette app, and in front of every path, unknown ones included.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math

from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

from citeqa.core.attempts import FailedLogins
from citeqa.server.errors import error_body


def token_matches(header: str | None, key: str) -> bool:
    """Constant-time check of an `Authorization: Bearer <token>` header against `key`."""
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        token = ""
    # Digests of equal length, so that not even the key's length shows in the comparison's time.
    given = hashlib.sha256(token.strip().encode("utf-8")).digest()
    return hmac.compare_digest(given, hashlib.sha256(key.encode("utf-8")).digest())


class BearerAuth:
    """Answers 401 (OpenAI's error JSON) to any HTTP request without the right bearer token, and
    429 with Retry-After, without checking, to an address (or everyone) past the failed-guess
    limit (CITEQA_MAX_FAILED_LOGINS a minute; see citeqa/core/attempts.py)."""

    def __init__(self, app: ASGIApp, api_key: SecretStr, max_failures: int = 10) -> None:
        self.app = app
        self._key = api_key.get_secret_value()
        self.failures = FailedLogins(max_failures, what="API key")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan events pass through
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        address = client[0] if client else "local socket"
        if (wait := self.failures.wait_s(address)) > 0:
            seconds = str(max(1, math.ceil(wait)))
            message = f"too many failed API keys from {address}; try again in {seconds} s (CITEQA_MAX_FAILED_LOGINS)"
            await _answer(send, 429, error_body(429, message, code="too_many_failed_logins"), [(b"retry-after", seconds.encode())])
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"authorization"), None)
        if token_matches(header, self._key):
            self.failures.succeeded(address)
            await self.app(scope, receive, send)
            return
        if header is not None:  # a guess; a request without any token is a client not set up
            self.failures.failed(address)
        message = (
            "missing bearer token: send 'Authorization: Bearer <CITEQA_API_KEY>'"
            if header is None
            else "invalid API key (the server's CITEQA_API_KEY)"
        )
        await _answer(send, 401, error_body(401, message, code="invalid_api_key"), [(b"www-authenticate", b'Bearer realm="citeqa"')])


async def _answer(send: Send, status: int, payload: dict, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps(payload).encode("utf-8")
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})
