"""`citeqa serve-db`: the servers citeqa starts."""

from __future__ import annotations

import click

from citeqa.cli.base import cli, ctx, edge


@cli.command("serve-db")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=19530, show_default=True)
@edge
def serve_db(host: str, port: int) -> None:
    """Serve the data dir's index, so that ingest and the app can run at the same time.

    The embedded index allows one process at a time; served, any number of citeqa commands
    and the web app share it. In each of them: export CITEQA_MILVUS_URI=http://HOST:PORT
    """
    from citeqa.engine import serve_db as serve

    settings = ctx().settings
    uri = f"http://{host}:{port}"

    def ready() -> None:
        if ctx().shows_progress:
            click.echo(f"serving {settings.milvus_path} at {uri}; elsewhere: export CITEQA_MILVUS_URI={uri} (Ctrl-C stops)", err=True)

    serve(settings, host, port, ready)
