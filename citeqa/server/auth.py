"""Bearer-token authentication for citeqa's servers (CITEQA_API_KEY), as ASGI middleware.

Plain ASGI rather than a FastAPI dependency, so that the same gate stands in front of the HTTP API
and of the MCP server's Starlette app, and in front of every path, unknown ones included.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from pydantic import SecretStr
from starlette.types import ASGIApp, Receive, Scope, Send

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
    """Answers 401 (OpenAI's error JSON) to any HTTP request without the right bearer token."""

    def __init__(self, app: ASGIApp, api_key: SecretStr) -> None:
        self.app = app
        self._key = api_key.get_secret_value()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan events pass through
            await self.app(scope, receive, send)
            return
        header = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"authorization"), None)
        if token_matches(header, self._key):
            await self.app(scope, receive, send)
            return
        message = (
            "missing bearer token: send 'Authorization: Bearer <CITEQA_API_KEY>'"
            if header is None
            else "invalid API key (the server's CITEQA_API_KEY)"
        )
        body = json.dumps(error_body(401, message, code="invalid_api_key")).encode("utf-8")
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="citeqa"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
