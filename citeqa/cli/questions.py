"""`citeqa search`, `ask` and `chat`: questions to the documents."""

from __future__ import annotations

import json
from pathlib import Path

import click

from citeqa.cli.base import Ctx, cli, ctx, edge, indent, retrieval_options
from citeqa.core.types import Answer
from citeqa.questions import read_questions


@cli.command()
@click.argument("query", required=False)
@retrieval_options
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL file of {id, question}.")
@click.option("--json", "as_json", is_flag=True)
@edge
def search(query: str | None, top_k: int | None, mode: str | None, sources: tuple[str, ...], queries: Path | None, as_json: bool) -> None:
    """Print the passages that best match QUERY, without generating an answer."""
    if bool(query) == bool(queries):
        raise click.UsageError("give either QUERY or --queries FILE")
    engine = ctx().engine()
    if queries:
        for q in read_questions(queries):
            hits = engine.search(q.question, top_k=top_k, mode=mode, sources=sources)
            click.echo(json.dumps({"id": q.id, "hits": [h.to_dict() for h in hits]}))
        return
    assert query is not None
    hits = engine.search(query, top_k=top_k, mode=mode, sources=sources)
    if as_json:
        click.echo(json.dumps({"query": query, "hits": [h.to_dict() for h in hits]}))
        return
    if not hits:
        click.echo("No passages found. Ingest documents first: citeqa ingest PATH")
    for i, h in enumerate(hits, 1):
        click.secho(f"[{i}] {h.label(full_path=True)}  (score {h.score:.3f})", bold=True)
        click.echo(indent(h.text) + "\n")


@cli.command()
@click.argument("question", required=False)
@retrieval_options
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL file of {id, question}.")
@click.option("--json", "as_json", is_flag=True)
@edge
def ask(question: str | None, top_k: int | None, mode: str | None, sources: tuple[str, ...], questions: Path | None, as_json: bool) -> None:
    """Answer QUESTION from your documents, citing sources as [n]."""
    if bool(question) == bool(questions):
        raise click.UsageError("give either QUESTION or --questions FILE")
    c = ctx()
    engine = c.engine()
    announce_demo_model(c)
    opts = {"top_k": top_k, "mode": mode, "sources": sources}
    if questions:
        for q in read_questions(questions):
            answer = engine.ask(q.question, **opts)
            click.echo(json.dumps({"id": q.id, **answer.to_dict()}))
        return
    assert question is not None
    if as_json:
        click.echo(json.dumps(engine.ask(question, **opts).to_dict()))
        return
    stream = engine.ask_stream(question, **opts)
    for piece in stream:
        click.echo(piece, nl=False)
    click.echo()
    print_sources(stream.answer)


def announce_demo_model(c: Ctx) -> None:
    if c.settings.uses_demo_model and c.verbosity >= 0:
        click.secho(
            "note: using the bundled SmolLM2-135M demo model (tiny, for trying citeqa out). For real answers "
            "set CITEQA_MODEL to a Llama-2-7B-chat GGUF (see README).",
            fg="yellow",
            err=True,
        )


def print_sources(answer: Answer | None) -> None:
    if answer is None:
        return
    if answer.abstained:
        if answer.sources:
            click.secho("\nClosest passages (not used):", dim=True)
            for i, h in enumerate(answer.sources, 1):
                click.secho(f"  [{i}] {h.label()}  (score {h.score:.3f})", dim=True)
        return
    cited = {c.n for c in answer.citations}
    click.secho("\nSources:", bold=True)
    for i, h in enumerate(answer.sources, 1):
        mark = "*" if i in cited else " "
        click.echo(f" {mark}[{i}] {h.label(full_path=True)}  (score {h.score:.3f})")
        quote = next((c.quote for c in answer.citations if c.n == i and c.quote), None)
        if quote:
            click.secho(indent(f"“{quote}”", 7), fg="green")
    if not answer.citations:
        click.secho("The answer cites none of these passages; treat it with care.", fg="yellow")


@cli.command()
@retrieval_options
@edge
def chat(top_k: int | None, mode: str | None, sources: tuple[str, ...]) -> None:
    """A terminal chat that keeps the models loaded. Follow-ups may refer to earlier turns.

    /new starts a new conversation, /quit (or Ctrl-D) leaves.
    """
    c = ctx()
    engine = c.engine()
    announce_demo_model(c)
    history: list[tuple[str, str]] = []
    click.secho("Ask about your documents. /new for a new conversation, /quit to leave.", dim=True, err=True)
    while True:
        try:
            question = click.prompt(click.style("you", bold=True), prompt_suffix="> ", err=True).strip()
        except (EOFError, click.Abort):
            click.echo(err=True)
            return
        if question in ("/quit", "/exit", "/q"):
            return
        if question == "/new":
            history.clear()
            click.secho("(new conversation)", dim=True, err=True)
            continue
        if not question:
            continue
        stream = engine.ask_stream(question, top_k=top_k, mode=mode, sources=sources, history=history)
        for piece in stream:
            click.echo(piece, nl=False)
        click.echo()
        answer = stream.answer
        if answer is not None and answer.standalone_question:
            click.secho(f"(searched for: {answer.standalone_question})", dim=True)
        print_sources(answer)
        if answer is not None:
            history += [("user", question), ("assistant", answer.text)]
