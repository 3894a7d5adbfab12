"""`citeqa ingest`, `reindex`, `docs` and `stats`: what is in the index."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from citeqa.cli.base import cli, ctx, one_line_errors
from citeqa.cli.progress import count
from citeqa.core.errors import CiteqaError, Refused
from citeqa.core.types import IngestReport


def _summary(report: IngestReport) -> str:
    d = report.to_dict()["files"]
    parts = [f"{d['added']} added", f"{d['unchanged']} unchanged", f"{d['failed']} failed"]
    if d["skipped"]:
        parts.append(f"{d['skipped']} skipped (unsupported)")
    if d["removed"]:
        parts.append(f"{d['removed']} removed")
    ocr = f", {count(report.ocr_pages, 'page')} read by OCR" if report.ocr_pages else ""
    return f"{', '.join(parts)}; {report.chunks_added} chunks added{ocr} in {report.seconds:.1f}s"


def _finish(report: IngestReport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    elif ctx().shows_progress:
        click.echo(_summary(report), err=True)
    if report.failed:
        sys.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--prune", is_flag=True, help="Remove documents under PATHS whose files no longer exist.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@one_line_errors
def ingest(paths: tuple[Path, ...], prune: bool, as_json: bool) -> None:
    """Add or update documents (folders recursively); unchanged files are skipped."""
    from citeqa.cli.progress import IngestBar

    state = ctx()
    with IngestBar(enabled=not as_json and state.shows_progress, failures=not as_json, verbose=state.verbosity > 0) as bar:
        report = state.engine().ingest(list(paths), prune=prune, on_progress=bar.update)
    _finish(report, as_json)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary object.")
@one_line_errors
def reindex(as_json: bool) -> None:
    """Rebuild the index from your files (after changing the embedding model or chunk settings)."""
    from citeqa.cli.progress import IngestBar

    state = ctx()
    with IngestBar(enabled=not as_json and state.shows_progress, failures=not as_json, verbose=state.verbosity > 0) as bar:
        report = state.engine().reindex(on_progress=bar.update)
    _finish(report, as_json)


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@one_line_errors
def docs(click_ctx: click.Context, as_json: bool) -> None:
    """List ingested documents (or `docs remove PATH...`)."""
    if click_ctx.invoked_subcommand:
        return
    engine = ctx().engine()
    records = engine.documents()
    if not records:
        engine.require_documents()  # names the data dir and `citeqa ingest` (exit 1)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in records]))
        return
    import datetime as dt

    for r in records:
        when = dt.datetime.fromtimestamp(r.ingested_at).strftime("%Y-%m-%d %H:%M")
        click.echo(f"{r.path}\t{count(r.pages, 'page')}\t{count(r.chunks, 'chunk')}\t{r.content_hash[:12]}\t{when}")


@docs.command("remove")
@click.argument("paths", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Remove every document under a folder without asking.")
@one_line_errors
def docs_remove(paths: tuple[str, ...], yes: bool) -> None:
    """Remove documents (or every document under a folder, after a confirmation) from the index."""
    engine = ctx().engine()
    try:
        removed = engine.remove(paths, recursive=yes)
    except Refused as exc:
        # A folder: asked on a terminal; elsewhere (scripts) only --yes removes it.
        if yes or not sys.stdin.isatty() or not click.confirm(f"{exc}. Remove them?", err=True):
            raise
        removed = engine.remove(paths, recursive=True)
    for p in removed:
        click.echo(f"removed {p}")
    if not removed:
        raise CiteqaError("no ingested document matches " + ", ".join(paths) + "; see `citeqa docs`")


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def stats(as_json: bool) -> None:
    """Index statistics."""
    s = ctx().engine().stats()
    if as_json:
        click.echo(json.dumps(s))
    else:
        for k, v in s.items():
            click.echo(f"{k}: {v}")
