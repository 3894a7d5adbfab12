"""The Python API, and the one place that wires citeqa's parts together.

    import citeqa
    with citeqa.open() as qa:
        qa.ingest(["~/papers"])
        answer = qa.ask("What learning rate did they use?")

Every edge (CLI, web app, servers) goes through this object, so documents are ingested,
searched and answered the same way whichever one calls. Collaborators (embedder, store,
generator) can be passed in; otherwise each is built, and imported, when first needed.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.answer.model_gate import ModelGate
from citeqa.collections_admin import CollectionsAdmin
from citeqa.core.collections import check_name
from citeqa.core.errors import ConfigError
from citeqa.core.files import keep_private, warn_if_exposed
from citeqa.core.memory import release_freed_memory
from citeqa.core.records import read_lines, remember_roots, write_lines
from citeqa.core.settings import GenerateMode, RetrievalMode, Settings
from citeqa.core.syncstate import record_sync
from citeqa.core.types import Answer, History, Hit, IngestProgress, IngestReport, UploadResult
from citeqa.documents_admin import DocumentsAdmin
from citeqa.ingest.plan import Plan
from citeqa.retrieval.datadir import EmbeddedDataDir

if TYPE_CHECKING:
    from citeqa.answer.answerer import Answerer
    from citeqa.answer.asker import Asker
    from citeqa.answer.generator import Generator
    from citeqa.answer.stream import AnswerStream
    from citeqa.core.types import Retrieved
    from citeqa.ingest.parsers import ParserPool
    from citeqa.ingest.pipeline import Ingestor
    from citeqa.retrieval.embedder import Embedder
    from citeqa.retrieval.retriever import Retriever
    from citeqa.retrieval.store import Store

ProgressFn = Callable[[IngestProgress], None]


class Citeqa(DocumentsAdmin, CollectionsAdmin):
    """The one engine: builds and holds the parts, and takes every question and change through
    them. Its documents and collections methods live in `citeqa.documents_admin` and
    `citeqa.collections_admin`."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        store: Store | None = None,
        generator: Generator | None = None,
        _root: Citeqa | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._store = store
        self._generator = generator
        self._owns_generator = generator is None and _root is None
        self._retriever: Retriever | None = None
        self._ingestor: Ingestor | None = None
        self._parsers: ParserPool | None = None  # the root's, kept between ingests, for every collection
        self._answerer: Answerer | None = None
        self._asker: Asker | None = None
        # Another collection of the same data dir is served by a view of this engine (see
        # `collection`): its own store, retriever and ingestor; the root's models, locks and queue.
        self._root = _root
        self._views: dict[str, Citeqa] = {}
        if _root is not None:
            self._build = _root._build
            self._writes = _root._writes
            self.turns = _root.turns
            self.privacy_warning = None
            self.datadir = _root.datadir.view(settings.collection) if _root.datadir is not None else None
            return
        self._build = threading.RLock()
        # One change to the index at a time, whichever edge asks (milvus-lite's client is not
        # made for concurrent writers, and two ingests of one file would race on its manifest row).
        self._writes = threading.RLock()
        # Every question that needs the chat model queues here, whichever edge asked it: one at a
        # time for the local model, CITEQA_LLM_CONCURRENCY at once for a server (CITEQA_LLM_URL).
        self.turns = ModelGate(settings.generation_slots, max_waiting=settings.max_waiting)
        # Documents, index and uploads are the owner's alone; say so once if an older data dir is not.
        self.privacy_warning = warn_if_exposed(settings.data_dir)
        keep_private()
        release_freed_memory()
        self.datadir: EmbeddedDataDir | None = None
        if store is None and settings.embedded:
            # Taken now, so that a second process is told who holds the data dir before any work;
            # a data dir that does not exist yet is made (and taken) when the index is first opened:
            # a question asked of no index must not leave an empty one behind.
            self.datadir = EmbeddedDataDir(settings.data_dir, settings.collection)
            if settings.data_dir.exists():
                self.datadir.acquire()

    def index_missing(self) -> bool:
        """True when the embedded index was never made: opening it would make an empty data dir."""
        return self._store is None and self.settings.embedded and not self.settings.milvus_path.exists()

    # -- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        for view in self._views.values():  # their stores borrow this one's connection
            view.close()
        self._views.clear()
        if self._store is not None:
            self._store.close()
        if self._root is not None:
            return
        if self._parsers is not None:
            self._parsers.close()
        if self._owns_generator and self._generator is not None:
            self._generator.close()
        if self.datadir is not None:
            self.datadir.release()

    def __enter__(self) -> Citeqa:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- parts, built on first use ----------------------------------------------

    @property
    def embedder(self) -> Embedder:
        if self._root is not None:
            return self._root.embedder
        with self._build:
            if self._embedder is None:
                from citeqa.retrieval.embedder import Embedder

                self._embedder = Embedder.from_settings(self.settings)
            return self._embedder

    @property
    def store(self) -> Store:
        with self._build:
            if self._store is None:
                from citeqa import logs
                from citeqa.retrieval.store import Store

                e = self.embedder
                if self._root is not None:
                    self._store = self._root.store.sibling(self.settings.collection)
                    return self._store
                if self.datadir is not None:
                    self.datadir.acquire()  # held by the engine, not the store: reindex reopens it
                self._store = Store.open(self.settings, embed_name=e.name, dim=e.dim, datadir=self.datadir)
                logs.quiet_libraries()  # again: pymilvus configured its own loggers on import
            return self._store

    @property
    def retriever(self) -> Retriever:
        with self._build:
            if self._retriever is None:
                from citeqa.retrieval.retriever import Retriever

                self._retriever = Retriever.from_settings(self.settings, self.store, self.embedder)
            return self._retriever

    @property
    def ingestor(self) -> Ingestor:
        with self._build:
            if self._ingestor is None:
                from citeqa.ingest.parsers import ParserPool
                from citeqa.ingest.pipeline import Ingestor

                root = self._root or self
                root._parsers = root._parsers or ParserPool()
                self._ingestor = Ingestor.from_settings(self.settings, self.store, self.embedder, parsers=root._parsers)
            return self._ingestor

    @property
    def generator(self) -> Generator:
        if self._root is not None:
            return self._root.generator
        with self._build:
            if self._generator is None:
                from citeqa.answer.generator_factory import make_generator

                self._generator = make_generator(self.settings)
            return self._generator

    @property
    def answerer(self) -> Answerer:
        if self._root is not None:
            return self._root.answerer
        with self._build:
            if self._answerer is None:
                from citeqa.answer.answerer import Answerer
                from citeqa.answer.support import SupportCheck

                self._answerer = Answerer(SupportCheck(self.embedder.similarity))
            return self._answerer

    @property
    def asker(self) -> Asker:
        """The question's path (citeqa.answer.asker), over this engine's retriever."""
        with self._build:
            if self._asker is None:
                from citeqa.answer.asker import Asker
                from citeqa.retrieval.search import MENTIONS

                self._asker = Asker(self.retriever, self.answerer, top_k=self.settings.top_k, mentions_limit=MENTIONS)
            return self._asker

    def generates(self, generate: GenerateMode | bool | None = None) -> bool:
        """Whether an answer is generated: `generate` (True/False or a mode), else CITEQA_GENERATE.
        auto generates with any chat model but the bundled demo model (see README, "Answers")."""
        mode = generate if generate is not None else self.settings.generate
        if isinstance(mode, bool):
            return mode
        if mode not in ("auto", "always", "never"):
            raise ConfigError(f"unknown generate mode {mode!r}; use auto, always or never (CITEQA_GENERATE)")
        return mode == "always" or (mode == "auto" and not self.settings.uses_demo_model)

    # -- documents ------------------------------------------------------------

    def ingest(
        self, paths: Sequence[str | Path], *, prune: bool = False, on_progress: ProgressFn | None = None
    ) -> IngestReport:
        """Add new and changed files under `paths` (folders recursively); with `prune`, also drop
        documents under them whose files are gone. The report's seconds count from this call,
        opening the index and loading the models included."""
        t0 = time.perf_counter()
        with self._writes:
            remember_roots(self._roots_record(), paths, skip=self.settings.uploads_dir)
            recorded = self.datadir.read_synced(self._embed_name()) if self.datadir is not None else None
            plan = Plan(paths, recorded)
            report = None if prune else plan.unchanged_report(on_progress)
            if report is not None:
                report = dataclasses.replace(report, seconds=time.perf_counter() - t0)
            else:
                report = self.ingestor.ingest(plan, prune=prune, on_progress=on_progress, started=t0)
            record_sync(self.settings.data_dir, self.settings.collection, report)
            return report

    def reindex(self, *, on_progress: ProgressFn | None = None) -> IngestReport:
        """Rebuild the index from the files on disk: after changing the embedding model or chunk
        settings, or after an upgrade whose index layout differs. The list of files is kept in the
        data dir until the rebuild is done, so a killed reindex resumes where it stopped."""
        from citeqa.retrieval.store import Store

        t0 = time.perf_counter()
        pending = self.settings.data_dir / f"{self.settings.collection}.reindex.txt"
        paths = read_lines(pending)
        if not pending.exists():
            e = self.embedder
            with self._build:
                for view in self._views.values():  # they borrow the connection closed here
                    view.close()
                self._views.clear()
                if self._store is not None:
                    self._store.close()
                    self._store = self._retriever = self._ingestor = None
                if self._root is not None:
                    old = self._root.store.sibling(self.settings.collection, check=False)
                else:
                    old = Store.open(self.settings, embed_name=e.name, dim=e.dim, datadir=self.datadir, check=False)
                try:
                    paths = [d.path for d in old.documents()]
                    write_lines(pending, paths)
                    old.drop()
                finally:
                    old.close()
        with self._writes:
            report = self.ingestor.ingest(Plan(paths), on_progress=on_progress, started=t0)
        pending.unlink(missing_ok=True)
        return report

    def ingest_uploads(
        self, uploads: Sequence[tuple[str, bytes]], *, on_progress: ProgressFn | None = None
    ) -> list[UploadResult]:
        """Store files sent by a user (web app, HTTP API) under the data dir's uploads folder with
        safe names, and ingest them; one result per upload, in order. An upload that cannot be
        stored or indexed leaves no copy behind."""
        from citeqa.ingest.uploads import ingest_uploads

        with self._writes:
            results = ingest_uploads(self, uploads, on_progress=on_progress)
            record_sync(self.settings.data_dir, self.settings.collection)
            return results

    def _embed_name(self) -> str:
        return self._embedder.name if self._embedder is not None else self.settings.embed_model_name()

    # -- collections (the rest: citeqa.collections_admin) -------------------------

    def _view(self, settings: Settings) -> Citeqa:
        """A view of this engine for another collection (see `collection`)."""
        return Citeqa(settings, _root=self)

    def _joined(self, views: Sequence[Citeqa]) -> Citeqa:
        """One engine over several collections' views (see `over`)."""
        return _Joined(self, views)

    # -- questions ------------------------------------------------------------

    def retrieve(
        self, query: str, *, top_k: int | None = None, mode: RetrievalMode | None = None, sources: Sequence[str] = ()
    ) -> Retrieved:
        self.require_documents()
        return self.retriever.retrieve(query, top_k=top_k, mode=mode, sources=sources)

    def search(
        self,
        query: str,
        *,
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        sources: Sequence[str] = (),
        collection: str | Sequence[str] | None = None,
    ) -> list[Hit]:
        """`collection`: a collection's name, or several (searched together); default this one's."""
        engine = self._target(collection)
        return list(engine.retrieve(query, top_k=top_k, mode=mode, sources=sources).hits)

    def _target(self, collection: str | Sequence[str] | None) -> Citeqa:
        if collection is None:
            return self
        return self.collection(collection) if isinstance(collection, str) else self.over(collection)

    def ask_stream(
        self,
        question: str,
        *,
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        sources: Sequence[str] = (),
        history: History = (),
        temperature: float | None = None,
        generate: GenerateMode | bool | None = None,
    ) -> AnswerStream:
        """Retrieve and select evidence now; the returned stream yields the evidence answer at
        once, then (when generating) waits for the chat model's turn and adds the generated
        sentences that pass the support check. See citeqa.answer.stream and citeqa.core.events.

        `history` is the conversation so far; it only changes what is searched for when the
        question cannot stand alone (citeqa.answer.conversation), and never enters the prompt."""
        if self.index_missing():  # (the asker checks an empty index)
            self.require_documents()
        return self.asker.ask(
            question,
            top_k=top_k,
            mode=mode,
            sources=sources,
            history=history,
            model=(lambda: self.generator) if self.generates(generate) else None,
            turns=self.turns,
            temperature=temperature,
        )

    def ask(self, question: str, *, collection: str | Sequence[str] | None = None, **kwargs) -> Answer:
        """`collection`: a collection's name, or several (searched together, each quote naming
        its collection); default this engine's. Other arguments as for `ask_stream`."""
        return self._target(collection).ask_stream(question, **kwargs).result()


class _Joined(Citeqa):
    """A question over several collections (`Citeqa.over`): the question path of one engine, with
    a retriever that searches every collection and fuses the results (citeqa.retrieval.multi)."""

    def __init__(self, root: Citeqa, views: Sequence[Citeqa]) -> None:
        from citeqa.retrieval.multi import Joined

        super().__init__(views[0].settings, _root=root)
        self._retriever = Joined({v.settings.collection: v.retriever for v in views})  # type: ignore[assignment]

    def require_documents(self) -> None:
        """Only when every collection asked is empty (citeqa.retrieval.multi.Joined)."""
        if self.index_missing():
            super().require_documents()
        self.retriever.require_documents()


def open_citeqa(settings: Settings | None = None, *, collection: str | None = None, **collaborators) -> Citeqa:
    """`citeqa.open()`: open citeqa with `settings` (default: from CITEQA_* env vars and .env), on `collection`
    (default: CITEQA_COLLECTION, else "docs"); `qa.collection(name)` serves the others."""
    settings = settings or Settings.load()
    if collection is not None:
        settings = settings.model_copy(update={"collection": check_name(collection)})
    return Citeqa(settings, **collaborators)

