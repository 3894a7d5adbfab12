"""`citeqa eval`: retrieval, abstention and answer quality on a question file with gold answers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from citeqa.cli.base import cli, ctx, one_line_errors, retrieval_options
from citeqa.cli.questions import announce_demo_model
from citeqa.core.errors import CiteqaError
from citeqa.core.files import absolute_path
from citeqa.questions import read_questions


@cli.command("eval")
@click.argument("questions", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--docs",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Ingest this folder first (incrementally) and search only documents under it.",
)
@retrieval_options
@click.option("--modes", help="Compare modes, comma-separated: dense,bm25,hybrid (and hybrid-rrf).")
@click.option(
    "--answers",
    "answer_modes",
    is_flag=False,
    flag_value="never,auto,always",
    default=None,
    help="Also answer every question as `ask` does and check the answers, per generation mode "
    "(comma-separated never,auto,always; all three when given alone). With generation, slow.",
)
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), help="Write hit@k curves to this PNG.")
@one_line_errors
def eval_cmd(
    questions: Path,
    docs: Path | None,
    top_k: int | None,
    mode: str | None,
    sources: tuple[str, ...],
    modes: str | None,
    answer_modes: str | None,
    limit: int | None,
    as_json: bool,
    plot: Path | None,
) -> None:
    """Measure retrieval (hit@k, MRR), evidence@k, abstention and optionally answers on QUESTIONS (JSONL)."""
    from citeqa import evaluation
    from citeqa.evaluation import report as table

    if mode and modes:
        raise click.UsageError("give --mode or --modes, not both")
    state = ctx()
    qs = list(read_questions(questions, limit=limit))
    names = evaluation.parse_modes(modes or mode or state.settings.retrieval)
    answers = evaluation.parse_generate_modes(answer_modes) if answer_modes else []
    engine = state.engine()
    show = not as_json and state.shows_progress
    if docs is not None:
        from citeqa.cli.progress import IngestBar

        with IngestBar(enabled=show) as bar:
            ingested = engine.ingest([str(docs)], on_progress=bar.update)
        if ingested.failed:
            raise CiteqaError(
                f"{len(ingested.failed)} file(s) under {docs} failed to ingest; see `citeqa ingest {docs}`"
            )
        # Stored sources are absolute; an absolute glob keeps other indexed documents out of the ranking.
        sources = sources or (f"{absolute_path(docs)}/*",)
    if any(engine.generates(m) for m in answers):  # type: ignore[arg-type]
        announce_demo_model(state, True)

    def step(msg: str) -> None:
        if show:
            click.echo(msg, err=True)

    report = evaluation.run(
        engine, qs, modes=names, sources=sources, top_k=top_k, answers=answers, on_step=step
    )
    if plot is not None:
        table.plot(report, plot)
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        click.echo(table.format_table(report))
