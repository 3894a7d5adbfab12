"""`citeqa info`: which index this citeqa uses, what is in it, and where its settings came from."""

from __future__ import annotations

import json

import click

from citeqa.cli.base import cli, ctx, one_line_errors


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@one_line_errors
def info(as_json: bool) -> None:
    """Version, data dir, collection, document and passage counts, models, and where the settings
    came from (flags, environment, .env). Loads no model and creates nothing."""
    from citeqa.info import facts, lines

    state = ctx()
    found = facts(state.settings, state.overrides)
    if as_json:
        click.echo(json.dumps(found))
        return
    for line in lines(found):
        click.echo(line)
