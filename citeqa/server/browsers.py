"""Keep web pages away from the API: the attacks a local server meets through the user's browser.

A page on any site can make the user's browser send requests to 127.0.0.1. Two guards:

- Origin: browsers name the page's origin on every cross-origin POST, and a multipart upload is a
  "simple" request sent without asking first. A request whose Origin is not this server itself is
  refused, so a page cannot add files to the library. API clients (openai, LangChain, curl) send
  no Origin.
- Host (DNS rebinding: a site's name made to resolve to 127.0.0.1, so the browser treats the
  server as that site and lets the page read the answers): without CITEQA_API_KEY the server listens
  on loopback only, and answers only requests addressed to a loopback name.

Starlette's TrustedHostMiddleware covers the second but not an IPv6 Host ("[::1]:8000").
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from citeqa.core.netaddr import host_of, is_loopback_name
from citeqa.server.errors import error_body

log = logging.getLogger("citeqa.server")


class BrowserGuard:
    """`loopback_only`: refuse a Host that is not a loopback name, or a callable that says, at each
    request, whether to (the web app's login can be configured after start). `check_origin`: off
    for the web app, whose own pages make its requests and which checks them itself (XSRF)."""

    def __init__(self, app: ASGIApp, *, loopback_only: bool | Callable[[], bool], check_origin: bool = True) -> None:
        self.app = app
        self.loopback_only = loopback_only
        self.check_origin = check_origin

    def _refusal(self, scope: Scope) -> str | None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        host = headers.get("host", "")
        loopback_only = self.loopback_only() if callable(self.loopback_only) else self.loopback_only
        if loopback_only and not is_loopback_name(host_of(host)):
            return f"this server answers requests addressed to 127.0.0.1 or localhost, not '{host}'"
        origin = headers.get("origin")
        if self.check_origin and origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            return "requests from web pages are refused (Origin is not this server): use an API client"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Websockets too: a rebinding page reads the web app through its websocket.
        refusal = self._refusal(scope) if scope["type"] in ("http", "websocket") else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            log.warning("refused a websocket: %s", refusal)
            await send({"type": "websocket.close", "code": 1008})  # before accepting: HTTP 403
            return
        body = json.dumps(error_body(403, refusal, code="forbidden_origin")).encode("utf-8")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})
