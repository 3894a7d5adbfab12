"""`citeqa serve-db`, `app`, `serve` and `mcp`: the servers citeqa starts, on loopback unless protected."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from citeqa.cli.base import cli, ctx, one_line_errors
from citeqa.core.errors import ConfigError


@cli.command("serve-db")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback only).")
@click.option("--port", type=click.IntRange(1, 65535), default=19530, show_default=True)
@click.option("--uds", metavar="PATH",
              help="Listen on a Unix socket at PATH (mode 0600: this user only) instead of --host/--port; "
                   "clients set CITEQA_MILVUS_URI=unix:PATH.")  # fmt: skip
@one_line_errors
def serve_db(host: str, port: int, uds: str | None) -> None:
    """Serve the data dir's index, so that ingest and the app can run at the same time.

    The embedded index allows one process at a time; served, any number of citeqa commands
    and the web app share it. In each of them: export CITEQA_MILVUS_URI=http://HOST:PORT
    With CITEQA_MILVUS_TOKEN set, every client must send it (set the same value there).
    """
    from citeqa.retrieval.datadir import EmbeddedDataDir

    settings = ctx().settings
    if not settings.embedded:
        raise ConfigError("CITEQA_MILVUS_URI is set: serve-db serves the embedded index of the data dir; unset it")
    token = (settings.milvus_token.get_secret_value() if settings.milvus_token else None) or None
    uri = f"unix:{Path(uds).absolute()}" if uds else f"http://{host}:{port}"

    def ready() -> None:
        if ctx().shows_progress:
            auth = "token required: CITEQA_MILVUS_TOKEN" if token else "no token: any local user can connect"
            if uds:
                auth = f"{auth}; socket mode 0600"
            click.echo(f"serve-db listening on {uri} ({auth}), serving {settings.milvus_path}; "
                       f"elsewhere: export CITEQA_MILVUS_URI={uri} (Ctrl-C stops)", err=True)  # fmt: skip

    EmbeddedDataDir(settings.data_dir, settings.collection).serve(host, port, ready, token=token, uds=uds)


@cli.command("app")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any but loopback needs CITEQA_APP_PASSWORD (or Streamlit's [auth] login).")  # fmt: skip
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@one_line_errors
def app(host: str, port: int) -> None:
    """Serve the web chat (Streamlit), on 127.0.0.1 unless told otherwise.

    Listening where other machines can reach it needs a login: set CITEQA_APP_PASSWORD first.
    """
    from citeqa.app.auth import allowed_hosts, exposure_problem

    state = ctx()
    if problem := exposure_problem(host, state.settings):
        raise ConfigError(problem)
    # Streamlit's websocket refuses any other Host (DNS rebinding), unless a login protects the app.
    hosts = [arg for name in allowed_hosts(host, state.settings) for arg in ("--server.allowedHosts", name)]
    # The web app reads its settings from the environment: pass the command line's on.
    env = dict(os.environ)
    env.update({f"CITEQA_{k.upper()}": str(v) for k, v in state.overrides.items() if v is not None})
    import citeqa.app

    main = Path(citeqa.app.__file__).resolve().parent / "main.py"
    args = [
        sys.executable, "-m", "streamlit", "run", str(main),
        "--server.address", host, "--server.port", str(port), "--server.headless", "true",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "minimal", *hosts,
    ]  # fmt: skip
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, args, env)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on; any but loopback needs CITEQA_API_KEY.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--uds", metavar="PATH",
              help="Listen on a Unix socket at PATH (mode 0600: this user only) instead of --host/--port.")  # fmt: skip
@one_line_errors
def serve(host: str, port: int, uds: str | None) -> None:
    """Serve the OpenAI-compatible HTTP API: chat completions with citations, search, documents.

    OpenAI clients use base_url http://HOST:PORT/v1 and the collection as the model. With
    CITEQA_API_KEY set, every request needs 'Authorization: Bearer <key>'.
    """
    from citeqa.server.run import require_auth_off_loopback, serve_api

    state = ctx()
    if not uds:
        require_auth_off_loopback(state.settings, host, "citeqa serve")

    def ready(url: str) -> None:
        if state.shows_progress:
            auth = "bearer token required" if state.settings.api_key else "loopback only, no token"
            click.echo(
                f"serving collection '{state.settings.collection}' at {url}/v1 ({auth}); "
                f"OpenAI clients: base_url={url}/v1, model={state.settings.collection} (Ctrl-C stops)",
                err=True,
            )

    serve_api(state.engine(), host, port, uds=uds, verbosity=state.verbosity, on_ready=ready)


@cli.command("mcp")
@click.option("--http", "over_http", is_flag=True, help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --http: address to listen on; any but loopback needs CITEQA_API_KEY.")
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True, help="With --http: port.")
@click.option("--uds", metavar="PATH",
              help="Listen on a Unix socket at PATH (mode 0600: this user only) instead of --host/--port.")  # fmt: skip
@click.option("--print-config", is_flag=True,
              help="Print the JSON block that starts this server from Claude Desktop or an IDE, and exit.")  # fmt: skip
@one_line_errors
def mcp_command(over_http: bool, host: str, port: int, uds: str | None, print_config: bool) -> None:
    """Serve the documents to AI agents over the Model Context Protocol.

    Tools: search_documents, ask_documents (answers with cited quotes and pages) and
    list_documents. Over stdio (the default) an MCP client starts this command itself; logs go
    to stderr.
    """
    state = ctx()
    if print_config:
        from citeqa.cli.mcp_config import client_config

        click.echo(json.dumps(client_config(state.settings, state.overrides), indent=2))
        return
    from citeqa.server.mcp_server import serve_mcp_http, serve_mcp_stdio
    from citeqa.server.run import require_auth_off_loopback

    if not over_http:
        serve_mcp_stdio(state.engine(), verbosity=state.verbosity)
        return
    if not uds:
        require_auth_off_loopback(state.settings, host, "citeqa mcp --http")

    def ready(url: str) -> None:
        if state.shows_progress:
            click.echo(f"serving MCP over streamable HTTP at {url}/mcp (Ctrl-C stops)", err=True)

    serve_mcp_http(state.engine(), host, port, uds=uds, verbosity=state.verbosity, on_ready=ready)
