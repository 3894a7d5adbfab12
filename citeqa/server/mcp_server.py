"""`citeqa mcp`: the documents as Model Context Protocol tools, for AI agents and IDE assistants.

Three tools, served over stdio (the client starts `citeqa mcp` itself) or streamable HTTP:

    search_documents  passages that match a query, with file, page and score
    ask_documents     an answer with [n] citations: quotes, pages and which sentences they support
    list_documents    what is in the index
    list_collections  the collections (bodies of documents) there are; every tool takes `collection`

Questions take their turn at the chat model like every other question this process answers.
Over stdio, stdout carries the protocol alone: logs, and anything a library prints, go to stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from importlib.metadata import version
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from citeqa.core.errors import CiteqaError
from citeqa.core.settings import RetrievalMode
from citeqa.engine import Citeqa
from citeqa.server.answers import AnswerJob, Answers, FailedAfterShowing, Question, wait_for_answer
from citeqa.server.limits import check_query, check_retrieval

INSTRUCTIONS = (
    "citeqa answers questions from the user's own documents (PDF, text, Markdown) and cites them down "
    "to the page. Use search_documents to find passages, ask_documents for a cited answer, and "
    "list_documents to see which files are indexed. Quote the citations' `quote` and name their file "
    "and page when you use an answer; when `abstained` is true the documents do not contain it."
)

Sources = Annotated[
    list[str] | None,
    Field(description="Only documents whose path matches one of these globs, e.g. ['*.pdf', 'reports/*']."),
]
TopK = Annotated[int, Field(ge=1, le=20, description="How many passages to retrieve.")]
CollectionName = Annotated[
    str | None,
    Field(description="Which collection of documents to use (see list_collections); default: the server's own."),
]


# The tools' results, as output schemas an agent can read. Fields beyond these (the answer's
# evidence, its kind) pass through as they are: `extra="allow"`.
class Passage(BaseModel):
    model_config = ConfigDict(extra="allow")

    source: str = Field(description="the document's file path")
    page: int | None = Field(description="the PDF page, 1-based; null for files without pages")
    location: str = Field("", description="slide or section where there is no page number")
    text: str = Field(description="the passage, verbatim")
    score: float = Field(description="relevance, higher is better")


class Citation(Passage):
    n: int = Field(description="the number of the [n] marker in the answer")
    quote: str = Field("", description="the sentence(s) of the passage that best support the claim, verbatim")


class Sentence(BaseModel):
    model_config = ConfigDict(extra="allow")

    text: str
    citations: list[int] = Field(description="the [n] markers of this sentence")
    supported: bool = Field(description="whether the cited passages back this sentence")


class SearchResult(BaseModel):
    query: str
    hits: list[Passage] = Field(description="best first")


class AskResult(BaseModel):
    model_config = ConfigDict(extra="allow")

    question: str
    answer: str = Field(description="the answer, with [n] markers naming its citations")
    abstained: bool = Field(description="true when the documents do not contain the answer")
    abstain_reason: str | None = Field(
        None,
        description="why it abstained: no_relevant_passage, subject_not_in_documents (missing_subject names "
        "it), no_sentence_states_value (passages found, none states what was asked) or no_documents",
    )
    grounded: bool = Field(description="true when every sentence of the answer is supported by its citations")
    citations: list[Citation]
    sentences: list[Sentence]
    sources: list[Passage] = Field(description="every passage given to the model, numbered from 1")


class DocumentInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    path: str
    pages: int
    chunks: int
    content_hash: str
    ingested_at: float = Field(description="Unix time")


class DocumentList(BaseModel):
    documents: list[DocumentInfo]


class CollectionInfo(BaseModel):
    name: str
    documents: int
    passages: int
    last_sync: float | None = Field(description="Unix time of the last ingest, or null")
    default: bool = Field(description="the collection tools use when not told")


class CollectionList(BaseModel):
    collections: list[CollectionInfo]


def build(engine: Citeqa, answers: Answers | None = None) -> MCPServer:
    """An MCP server whose tools answer from `engine`; `answers` tracks its questions."""
    server = MCPServer("citeqa", instructions=INSTRUCTIONS, version=version("citeqa"), log_level="WARNING")
    answers = answers or Answers()
    read_only = ToolAnnotations(readOnlyHint=True, openWorldHint=False)

    @server.tool(annotations=read_only)
    async def search_documents(
        query: Annotated[str, Field(min_length=1, description="What to look for, in words or as a question.")],
        top_k: TopK = 5,
        mode: Annotated[
            RetrievalMode | None, Field(description="dense (meaning), bm25 (exact words) or hybrid (both; the default).")
        ] = None,
        sources: Sources = None,
        collection: CollectionName = None,
    ) -> SearchResult:
        """Search the user's documents without generating an answer. Returns `hits`, best first, each
        with `source` (file path), `page` (PDF page, or null), `location` (slide or section where there
        is no page), `text` (the passage) and `score` (higher is better)."""
        with _told_to_the_agent():
            check_query(engine.settings, query)
            check_retrieval(engine.settings, top_k, sources or ())
            target = await run_in_threadpool(_collection, engine, collection)
            hits = await run_in_threadpool(target.search, query, top_k=top_k, mode=mode, sources=tuple(sources or ()))
        return SearchResult(query=query, hits=[Passage(**h.to_dict()) for h in hits])

    @server.tool(annotations=read_only)
    async def ask_documents(
        question: Annotated[str, Field(min_length=1, description="A question about the user's documents.")],
        top_k: TopK = 4,
        sources: Sources = None,
        collection: CollectionName = None,
    ) -> AskResult:
        """Answer a question from the user's documents only. Returns `answer` (text with [n] markers),
        `citations` (for each n: `source`, `page`, and `quote`, the sentence(s) of the passage that
        support the claim, verbatim), `sentences` (each answer sentence with the citations it uses and
        `supported`: whether those passages back it), `grounded` (every sentence supported),
        `abstained` (true when the documents do not contain the answer), and `sources` (all passages
        given to the model). Slower than search_documents: it runs the local chat model."""
        with _told_to_the_agent():
            check_query(engine.settings, question)
            check_retrieval(engine.settings, top_k, sources or ())
            target = await run_in_threadpool(_collection, engine, collection)
        job = AnswerJob(target, Question(question, top_k=top_k, sources=tuple(sources or ())), answers).start()
        with _told_to_the_agent():
            answer = await wait_for_answer(job)
        if answer is None:
            raise RuntimeError("the question was cancelled")
        return AskResult(**answer.to_dict())

    @server.tool(annotations=read_only)
    async def list_documents(collection: CollectionName = None) -> DocumentList:
        """List the indexed documents: `path`, `pages`, `chunks`, `content_hash` and `ingested_at`
        (Unix time) for each. Pass a path (or a glob) as `sources` to the other tools to search
        only there."""
        with _told_to_the_agent():
            target = await run_in_threadpool(_collection, engine, collection)
            records = await run_in_threadpool(target.documents)
            if not records:  # an empty list would read as "nothing relevant"; say where and what to run
                await run_in_threadpool(target.require_documents)
        return DocumentList(documents=[DocumentInfo(**r.to_dict()) for r in records])

    @server.tool(annotations=read_only)
    async def list_collections() -> CollectionList:
        """List the collections (separate bodies of documents, e.g. one per client or project):
        `name`, `documents`, `passages`, `last_sync` (Unix time) and `default` for each. Pass a
        name as `collection` to the other tools to use it."""
        with _told_to_the_agent():
            infos = await run_in_threadpool(engine.collections)
        default = engine.settings.collection
        return CollectionList(
            collections=[CollectionInfo(**i.to_dict(), default=i.name == default) for i in infos]
        )

    return server


def _collection(engine: Citeqa, name: str | None) -> Citeqa:
    """The engine of collection `name` (the server's own when None); an unknown one is an error
    that lists the collections, never an empty collection made by a typo."""
    return engine if name is None or name == engine.settings.collection else engine.require_collection(name)


@contextlib.contextmanager
def _told_to_the_agent() -> Iterator[None]:
    """citeqa's own errors reach the agent as their message (the SDK withholds any other
    exception's text, as a crash's); an answer that failed after its evidence still carries it."""
    try:
        yield
    except FailedAfterShowing as failed:
        raise ToolError(f"{failed}\n\nShown before the error:\n{failed.shown}") from None
    except CiteqaError as exc:
        raise ToolError(str(exc)) from None


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """While models load, anything written to stdout (by Python or by C libraries) goes to stderr:
    over stdio, a stray byte before the protocol starts would corrupt it."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _preload(engine: Citeqa) -> None:
    engine.generator  # noqa: B018 - a model or index problem stops the start, not the first call
    if not engine.index_missing():  # nothing indexed yet: the tools say so; no empty data dir is made
        engine.store  # noqa: B018


def serve_mcp_stdio(engine: Citeqa, *, verbosity: int = 0) -> None:
    answers = Answers()
    with stdout_to_stderr():
        _preload(engine)
        server = build(engine, answers)
    # The SDK points fd 1 at stderr while it serves, and writes the protocol to a private copy.
    try:
        anyio.run(server.run_stdio_async)
    finally:
        answers.stop_all()
        answers.wait_idle()


def serve_mcp_http(
    engine: Citeqa,
    host: str,
    port: int,
    *,
    uds: str | None = None,
    verbosity: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    from citeqa.server.auth import BearerAuth
    from citeqa.server.browsers import BrowserGuard
    from citeqa.server.run import close_listener, listen, run_uvicorn, url_of

    sock = listen(engine.settings, host, port, uds, "citeqa mcp --http")
    try:
        _preload(engine)
        answers = Answers()
        app: Any = build(engine, answers).streamable_http_app(host=host)
        if engine.settings.api_key is not None:
            app = BearerAuth(app, engine.settings.api_key, engine.settings.max_failed_logins)
        # Outermost, as in the HTTP API: the SDK checks the Host (DNS rebinding) only when host is
        # 127.0.0.1, localhost or ::1, and not for the rest of loopback (127.0.0.2 let any Host in).
        app = BrowserGuard(app, loopback_only=engine.settings.api_key is None)
        if on_ready is not None:
            on_ready(url_of(sock))
        try:
            run_uvicorn(app, sock, verbosity, on_exit=answers.stop_all)
        finally:
            answers.stop_all()
            answers.wait_idle()
    finally:
        close_listener(sock, uds)
