"""`citeqa models`: the chat models citeqa can use, and fetching a known one."""

from __future__ import annotations

import json

import click

from citeqa.cli.base import cli, ctx, one_line_errors


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@one_line_errors
def models(click_ctx: click.Context, as_json: bool) -> None:
    """List the configured (local or at CITEQA_LLM_URL), bundled, downloaded and known chat models (or `models pull NAME`)."""
    if click_ctx.invoked_subcommand:
        return
    from citeqa.answer.models import list_models

    infos = list_models(ctx().settings)
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in infos]))
        return
    for i in infos:
        if i.reachable is not None:  # a server's model: its state, then what is wrong
            state = "ready" if i.present else "reachable" if i.reachable else "unreachable"
            click.echo(f"{i.name}\t{i.role}\t{state}\t{i.chat_format}\t{i.path}")
            if i.problem:
                click.secho(f"  {i.problem}", fg="yellow")
            continue
        size = f"{i.size_bytes / 2**20:.0f} MB" if i.present else "not downloaded"
        click.echo(f"{i.name}\t{i.role}\t{size}\t{i.quantization}\t{i.chat_format}\t{i.path}")


@models.command("pull")
@click.argument("name")
@one_line_errors
def models_pull(name: str) -> None:
    """Download a known model (e.g. llama-2-7b-chat) into the data dir."""
    from citeqa.answer.models import pull

    path = pull(ctx().settings, name)
    click.echo(f"downloaded {path}\nuse it with: export CITEQA_MODEL={path}")
