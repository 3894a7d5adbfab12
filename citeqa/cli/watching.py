"""`citeqa watch`: keep a collection in sync with folders (citeqa.ingest.watch)."""

from __future__ import annotations

from pathlib import Path

import click

from citeqa.cli.base import cli, ctx, one_line_errors
from citeqa.core.types import IngestReport


@cli.command()
@click.argument("folders", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--poll", is_flag=True, help="Look for changes every second instead of waiting for file events (network file systems).")
@click.option("--debounce", type=click.FloatRange(0.1, 60), default=1.0, show_default=True,
              help="Seconds the changed files must stay unchanged before they are read.")  # fmt: skip
@one_line_errors
def watch(folders: tuple[Path, ...], poll: bool, debounce: float) -> None:
    """Keep the collection in sync with FOLDERS: files added, changed, moved or deleted there are
    ingested or removed within seconds, as `citeqa ingest FOLDERS --prune` would. The folders are
    remembered: `citeqa watch` alone resumes them. Other citeqa commands and the web app keep
    working on the same data dir, during syncs too. Ctrl-C stops."""
    from citeqa.cli.documents import _summary
    from citeqa.core.files import absolute_path, keep_private
    from citeqa.core.records import read_lines, write_lines
    from citeqa.ingest.loaders import SUPPORTED_SUFFIXES
    from citeqa.ingest.watch import watch as run_watch

    state = ctx()
    settings = state.settings
    record = settings.data_dir / f"{settings.collection}.watch.txt"
    known = read_lines(record)
    if folders:
        keep_private()
        given = [absolute_path(f) for f in folders]
        write_lines(record, list(dict.fromkeys(known + given)))
        known = read_lines(record)
    if not known:
        raise click.UsageError(f"no folders to watch for collection {settings.collection}: name them (citeqa watch DIR...)")
    watched = [Path(p) for p in known if Path(p).is_dir()]
    for p in known:
        if not Path(p).is_dir():
            click.secho(f"not watching {p}: it is not a folder (any more)", fg="yellow", err=True)
    if not watched:
        raise click.UsageError("none of the remembered folders exists; name the folders to watch")
    # One engine for the watcher's life: the model stays loaded and the index open. Holding the
    # data dir, it serves the index to other citeqa commands (citeqa.retrieval.shared); if the web
    # app or a server holds it, the watcher uses theirs.
    qa = state.engine()

    def sync() -> IngestReport:
        return qa.ingest(watched, prune=True)

    def told(report: IngestReport) -> None:
        if state.shows_progress:
            click.echo(f"synced {settings.collection}: {_summary(report)}", err=True)
        for f in report.failed:
            click.secho(f"  failed: {f.path}: {f.error}", fg="red", err=True)

    if state.shows_progress:
        where = ", ".join(str(p) for p in watched)
        click.echo(f"watching {where} for collection {settings.collection} (Ctrl-C stops)", err=True)
    suffixes = tuple(SUPPORTED_SUFFIXES)
    try:
        run_watch(sync, watched, debounce=debounce, poll=poll, on_sync=told,
                  relevant=lambda p: p.lower().endswith(suffixes))  # fmt: skip
    except KeyboardInterrupt:
        return
