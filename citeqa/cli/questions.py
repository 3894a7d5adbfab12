"""`citeqa search`, `ask` and `chat`: questions to the documents."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from citeqa.answer.stream import AnswerStream
from citeqa.cli.base import Ctx, cli, ctx, indent, one_line_errors, retrieval_options
from citeqa.core.errors import CiteqaError, ModelError, NoDocuments
from citeqa.core.types import Answer
from citeqa.questions import read_questions

if TYPE_CHECKING:
    from citeqa.engine import Citeqa


@cli.command()
@click.argument("query", required=False)
@retrieval_options
@click.option("--queries", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL file of {id, question}.")
@click.option("--json", "as_json", is_flag=True)
@one_line_errors
def search(query: str | None, top_k: int | None, mode: str | None, sources: tuple[str, ...], queries: Path | None, as_json: bool) -> None:
    """Print the passages that best match QUERY, without generating an answer."""
    if bool(query) == bool(queries):
        raise click.UsageError("give either QUERY or --queries FILE")
    engine = ctx().question_engine()
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
    if not hits:  # the index has documents (search said so otherwise): none match --source
        click.echo("No passages found in the documents matching --source " + " ".join(sources))
    for i, h in enumerate(hits, 1):
        click.secho(f"[{i}] {h.label(full_path=True)}  (score {h.score:.3f})", bold=True)
        click.echo(indent(h.text) + "\n")


NO_GENERATE_HELP = "Answer with quotes from the documents only; do not load the chat model [CITEQA_GENERATE=never]."


@cli.command()
@click.argument("question", required=False)
@retrieval_options
@click.option("--questions", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="JSONL file of {id, question}.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--no-generate", is_flag=True, help=NO_GENERATE_HELP)
@one_line_errors
def ask(
    question: str | None,
    top_k: int | None,
    mode: str | None,
    sources: tuple[str, ...],
    questions: Path | None,
    as_json: bool,
    no_generate: bool,
) -> None:
    """Answer QUESTION from your documents: the sentences that answer it, quoted and cited [n]
    with file and page, then (with a chat model) a short answer checked against them."""
    if bool(question) == bool(questions):
        raise click.UsageError("give either QUESTION or --questions FILE")
    state = ctx()
    engine = state.question_engine()
    generate = False if no_generate else None
    announce_demo_model(state, engine.generates(generate))
    opts = {"top_k": top_k, "mode": mode, "sources": sources, "generate": generate}
    if questions:
        for q in read_questions(questions):
            answer = ask_or_no_documents(engine, q.question, opts)
            click.echo(json.dumps({"id": q.id, **answer.to_dict()}))
            if answer.abstain_reason == "no_documents":
                sys.exit(1)
        return
    assert question is not None
    if as_json:
        answer = ask_or_no_documents(engine, question, opts)
        click.echo(json.dumps(answer.to_dict()))
        if answer.abstain_reason == "no_documents":
            sys.exit(1)
        return
    answer = show_answer(engine.ask_stream(question, **opts))
    print_sources(answer)


def ask_or_no_documents(engine: Citeqa, question: str, opts: dict) -> Answer:
    """The answer, or with nothing indexed an abstention that says so (abstain_reason
    "no_documents"), never "the documents do not contain the answer": JSON readers get an answer
    object either way, and the exit status 1."""
    try:
        return engine.ask(question, **opts)
    except NoDocuments as exc:
        click.echo(f"Error: {exc}", err=True)
        return Answer(
            question=question,
            text=str(exc),
            abstained=True,
            sources=(),
            citations=(),
            answer_kind="abstained",
            abstain_reason="no_documents",
        )


def show_answer(stream: AnswerStream) -> Answer:
    """Print the answer as it streams (evidence first), then the generated sentences that no
    passage supports, marked as such: they are not part of the answer."""
    printed = False
    try:
        for piece in stream:
            click.echo(piece, nl=False)
            printed = True
    except CiteqaError:
        if printed:
            click.echo()  # the evidence stays on screen; the error gets a line of its own
        raise
    click.echo()
    answer = stream.result()
    for s in answer.unsupported:
        click.secho(f"  not supported by your documents, not part of the answer: {s.text}", dim=True)
    return answer


def announce_demo_model(state: Ctx, generates: bool) -> None:
    if not state.settings.uses_demo_model or state.verbosity < 0:
        return
    if generates:
        note = (
            "note: the bundled SmolLM2-135M demo model writes the generated part (tiny, for trying citeqa "
            "out: few of its sentences pass the support check). Set CITEQA_MODEL to a Llama-2-7B-chat GGUF "
            "(see README)."
        )
    else:
        note = (
            "note: answers are quotes from your documents; with the bundled demo model nothing is generated "
            "(CITEQA_GENERATE=auto). Set CITEQA_MODEL to a Llama-2-7B-chat GGUF for a written answer (see README)."
        )
    click.secho(note, fg="yellow", err=True)


def print_sources(answer: Answer) -> None:
    if answer.abstained:
        if answer.sources:
            click.secho("\nClosest passages, not relevant enough:", dim=True)
            for i, h in enumerate(answer.sources, 1):
                click.secho(f"  [{i}] {h.label()}  (score {h.score:.3f})", dim=True)
        return
    cited = {c.n for c in answer.citations}
    click.secho("\nSources:", bold=True)
    for i, h in enumerate(answer.sources, 1):
        mark = "*" if i in cited else " "
        click.echo(f" {mark}[{i}] {h.label(full_path=True)}  (score {h.score:.3f})")


@cli.command()
@retrieval_options
@click.option("--no-generate", is_flag=True, help=NO_GENERATE_HELP)
@one_line_errors
def chat(top_k: int | None, mode: str | None, sources: tuple[str, ...], no_generate: bool) -> None:
    """A terminal chat that keeps the models loaded. Follow-ups may refer to earlier turns.

    /new starts a new conversation, /quit (or Ctrl-D) leaves.
    """
    state = ctx()
    engine = state.question_engine()
    engine.require_documents()  # before the prompt, not after the first question
    generate = False if no_generate else None
    announce_demo_model(state, engine.generates(generate))
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
        stream = engine.ask_stream(
            question, top_k=top_k, mode=mode, sources=sources, history=history, generate=generate
        )
        try:
            answer = show_answer(stream)
        except ModelError as exc:  # the model failed this once (a server down): the chat goes on
            click.secho(f"Error: {exc}", fg="red", err=True)
            continue
        if answer.standalone_question:
            click.secho(f"(a follow-up: also searched for: {answer.standalone_question})", dim=True)
        print_sources(answer)
        history += [("user", question), ("assistant", answer.text)]
