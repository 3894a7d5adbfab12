"""The `citeqa` group, its per-invocation state, and the decorator that turns errors into one line.

Errors become one-line messages here and nowhere else in the CLI: commands raise CiteqaError
(or click's own usage errors), and `one_line_errors` prints them and sets the exit status.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from citeqa.core.errors import CiteqaError
from citeqa.core.settings import RETRIEVAL_MODES, Settings

if TYPE_CHECKING:
    from citeqa.engine import Citeqa

log = logging.getLogger("citeqa")

VERBOSE_HELP = "More logging (-vv for library debug logs)."
QUIET_HELP = "Only errors."


class Ctx:
    """Per-invocation state: settings from env/.env plus CLI overrides, and the engine once opened."""

    def __init__(self, overrides: dict[str, Any], verbosity: int) -> None:
        self.overrides = overrides
        self.verbosity = verbosity
        # --collection after the command, repeatable: ask, search and chat search all of them.
        self.collections: list[str] = [overrides["collection"]] if overrides.get("collection") else []
        self._settings: Settings | None = None
        self._engine: Citeqa | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = Settings.load(**self.overrides)
        return self._settings

    def engine(self) -> Citeqa:
        if self._engine is None:
            from citeqa.core.collections import DEFAULT
            from citeqa.engine import Citeqa

            s = self.settings
            command = click.get_current_context().command.name
            if command in READ_ONLY and s.collection != DEFAULT:
                # A read names a collection that must exist: a typo is an error listing them, not
                # a new empty collection (opening a collection's store creates it).
                root = Citeqa(s.model_copy(update={"collection": DEFAULT}))
                if root.index_missing():
                    root.close()
                    self._engine = Citeqa(s)  # nothing indexed at all: NoDocuments says so
                else:
                    self._engine = root
                    self._engine = root.require_collection(s.collection)
            else:
                self._engine = Citeqa(self.settings)
        return self._engine

    def question_engine(self) -> Citeqa:
        """The engine questions go to: one collection's, or with several --collection a view over
        them all (their hits fused, each naming its collection)."""
        return self.engine().over(self.collections) if len(self.collections) > 1 else self.engine()

    @property
    def shows_progress(self) -> bool:
        return self.verbosity >= 0

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close()
            if self._engine._root is not None:  # a view: its root holds the models and the lock
                self._engine._root.close()


def ctx() -> Ctx:
    return click.get_current_context().find_object(Ctx)  # type: ignore[return-value]


def one_line_errors(fn: Callable) -> Callable:
    """Turn citeqa errors into a one-line message and exit 1; tracebacks only with -v."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = click.get_current_context().find_object(Ctx)
        try:
            return fn(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except CiteqaError as exc:
            if state and state.verbosity > 0:
                log.exception("error")
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as exc:
            if state and state.verbosity > 0:
                log.exception("unexpected error")
            raise click.ClickException(f"{type(exc).__name__}: {exc} (run with -v for details)") from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help=VERBOSE_HELP)
@click.option("-q", "--quiet", is_flag=True, help=QUIET_HELP)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Data directory [CITEQA_DATA_DIR].")
@click.option("--milvus-uri", help="Milvus server or Zilliz Cloud URI [CITEQA_MILVUS_URI].")
@click.option("--collection", help="Collection name [CITEQA_COLLECTION].")
@click.option("--model", type=click.Path(path_type=Path), help="GGUF chat model [CITEQA_MODEL].")
@click.option("--embed-model", help="sentence-transformers model name or path [CITEQA_EMBED_MODEL].")
@click.version_option(package_name="citeqa")
@click.pass_context
def cli(click_ctx: click.Context, verbose: int, quiet: bool, **overrides: Any) -> None:
    """citeqa: ask questions of your own documents and get answers cited down to the page."""
    from citeqa import logs

    verbosity = -1 if quiet else verbose
    logs.configure(verbosity)
    state = Ctx(overrides, verbosity)
    click_ctx.obj = state
    click_ctx.call_on_close(state.close)


def retrieval_options(fn: Callable) -> Callable:
    """--top-k, --mode and --source, shared by search, ask, chat and eval."""
    fn = click.option("--source", "sources", multiple=True, help="Only sources matching this glob (repeatable).")(fn)
    fn = click.option("--mode", type=click.Choice(RETRIEVAL_MODES), help="Retrieval mode [CITEQA_RETRIEVAL].")(fn)
    fn = click.option("-k", "--top-k", type=click.IntRange(1, 100), help="Passages to retrieve [CITEQA_TOP_K].")(fn)
    return fn


def _late_verbosity(click_ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if not value:
        return
    from citeqa import logs

    state = ctx()  # the group's callback, which made it, runs before a subcommand parses
    state.verbosity = -1 if param.name == "quiet" else max(state.verbosity, 0) + value
    logs.configure(state.verbosity)


def _late_collection(click_ctx: click.Context, param: click.Parameter, value: Any) -> None:
    if not value:
        return
    from citeqa.core.collections import BadCollectionName, check_name

    state = ctx()
    try:
        names = [check_name(v) for v in value]
    except BadCollectionName as exc:
        raise click.BadParameter(str(exc), param=param) from None
    state.collections = list(dict.fromkeys(names))
    state.overrides["collection"] = state.collections[0]  # settings are built later, on first use
    state._settings = None
    if len(state.collections) > 1 and click_ctx.command.name not in MANY_COLLECTIONS:
        raise click.UsageError(f"`citeqa {click_ctx.command.name}` works on one collection; only ask, search and chat take several")


MANY_COLLECTIONS = ("ask", "search", "chat")
READ_ONLY = ("ask", "search", "chat", "docs", "remove", "stats")
COLLECTION_HELP = "Collection to use [CITEQA_COLLECTION; default docs]; ask, search and chat take several."


def accept_verbosity_after(group: click.Group) -> None:
    """Let -v and -q follow the subcommand too (`citeqa ingest -q docs/`), as scripts write them;
    and --collection, which every command takes."""
    for command in group.commands.values():
        if not any(p.name == "collection" for p in command.params):
            command.params.append(
                click.Option(
                    ["--collection"],
                    multiple=True,
                    expose_value=False,
                    callback=_late_collection,
                    metavar="NAME",
                    help=COLLECTION_HELP,
                )
            )
        command.params += [
            click.Option(["-v", "--verbose"], count=True, expose_value=False, callback=_late_verbosity, help=VERBOSE_HELP),
            click.Option(["-q", "--quiet"], is_flag=True, expose_value=False, callback=_late_verbosity, help=QUIET_HELP),
        ]
        if isinstance(command, click.Group):
            accept_verbosity_after(command)


def indent(text: str, n: int = 4) -> str:
    return "\n".join(" " * n + line for line in text.strip().splitlines())
