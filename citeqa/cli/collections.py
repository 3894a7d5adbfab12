"""`citeqa collections`: list, create, rename and delete the collections of the data dir."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click

from citeqa.cli.base import cli, ctx, one_line_errors
from citeqa.cli.progress import count
from citeqa.core.errors import Refused


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
@one_line_errors
def collections(click_ctx: click.Context, as_json: bool) -> None:
    """List collections with their documents, passages and last sync (or create, rename, delete).

    Every command works on one collection: --collection NAME (default docs, CITEQA_COLLECTION).
    ask, search and chat take several (--collection a --collection b) and search them together.
    """
    if click_ctx.invoked_subcommand:
        return
    state = ctx()
    infos = state.engine().collections()
    if as_json:
        click.echo(json.dumps([{**i.to_dict(), "default": i.name == state.settings.collection} for i in infos]))
        return
    if not infos:
        click.echo("No collections yet. Add documents with `citeqa ingest PATH` (collection docs), "
                   "or `citeqa collections create NAME`.", err=True)  # fmt: skip
        return
    for i in infos:
        when = dt.datetime.fromtimestamp(i.last_sync).strftime("%Y-%m-%d %H:%M") if i.last_sync else "never"
        mark = "*" if i.name == state.settings.collection else " "
        click.echo(f"{mark} {i.name}\t{count(i.documents, 'document')}\t{count(i.passages, 'passage')}\tlast sync {when}")


@collections.command("create")
@click.argument("name")
@one_line_errors
def create(name: str) -> None:
    """Create an empty collection NAME (ingest into it with --collection NAME)."""
    ctx().engine().create_collection(name)
    click.echo(f"created collection {name}; add documents with `citeqa ingest PATH --collection {name}`")


@collections.command("rename")
@click.argument("old")
@click.argument("new")
@one_line_errors
def rename(old: str, new: str) -> None:
    """Rename collection OLD to NEW (its documents, uploads and records go with it)."""
    ctx().engine().rename_collection(old, new)
    click.echo(f"renamed collection {old} to {new}")


@collections.command("delete")
@click.argument("name")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@one_line_errors
def delete(name: str, yes: bool) -> None:
    """Delete collection NAME: its index, manifest, records and uploaded files. Your own files
    and the other collections are not touched."""
    engine = ctx().engine()
    if not yes:
        info = {i.name: i for i in engine.collections()}.get(name)
        what = f"{count(info.documents, 'document')} in collection {name}" if info else f"collection {name}"
        question = f"Delete {what}, and the files uploaded to it?"
        # Asked on a terminal; elsewhere (scripts) only --yes deletes.
        if not sys.stdin.isatty():
            if info is None:
                engine.delete_collection(name)  # names the collections there are
            raise Refused(f"{question[:-1]} pass --yes to confirm (citeqa collections delete {name} --yes)")
        if not click.confirm(question, err=True):
            raise click.Abort()
    engine.delete_collection(name)
    click.echo(f"deleted collection {name}")
