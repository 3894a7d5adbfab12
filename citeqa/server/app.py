"""The HTTP API's ASGI app: one engine, its routes, the error shape and the bearer-token gate."""

from __future__ import annotations

from importlib.metadata import version

from fastapi import FastAPI

from citeqa.engine import Citeqa
from citeqa.server import chat, documents, errors, health, search
from citeqa.server.answers import Answers
from citeqa.server.auth import BearerAuth
from citeqa.server.browsers import BrowserGuard
from citeqa.server.limits import BodyLimit
from citeqa.server.writes import WriteLine


def create_app(engine: Citeqa) -> FastAPI:
    """The API over `engine`, which the app uses but does not close."""
    app = FastAPI(
        title="citeqa",
        version=version("citeqa"),
        summary="Answers from your documents, cited down to the page, over an OpenAI-compatible API.",
        # The interactive docs pages load their scripts from a CDN: nothing here reaches out.
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.answers = Answers()
    app.state.health = health.HealthSnapshot(engine, busy=lambda: app.state.writes.busy)
    app.state.writes = WriteLine(engine.settings.max_ingest_waiting, after=app.state.health.changed)
    errors.install(app)
    for module in (chat, search, documents, health):
        app.include_router(module.router)
    # Inside the gates below: a stranger's request is refused before its size matters.
    app.add_middleware(BodyLimit, settings=engine.settings)
    if engine.settings.api_key is not None:
        app.add_middleware(BearerAuth, api_key=engine.settings.api_key, max_failures=engine.settings.max_failed_logins)
    # Outermost, so that a page's request is refused before anything else reads it.
    app.add_middleware(BrowserGuard, loopback_only=engine.settings.api_key is None)
    return app
