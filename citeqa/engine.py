"""The Python API, and the one place that wires citeqa's parts together.

    import citeqa
    with citeqa.open() as qa:
        qa.ingest(["~/papers"])
        answer = qa.ask("What learning rate did they use?")

Every edge (CLI, web app, servers) goes through this object, so documents are ingested,
searched and answered the same way whichever one calls. Collaborators (embedder, store,
generator) can be passed in; otherwise each is built from the settings when first needed. The
parts are imported then too: `citeqa ingest` over unchanged files answers from the data dir's
synced record in a fraction of a second, without importing pymilvus or a model runtime.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.answer.turns import TurnQueue
from citeqa.core import places
from citeqa.core.errors import ConfigError, NoDocuments, Refused
from citeqa.core.files import absolute_path, keep_private, warn_if_exposed
from citeqa.core.memory import release_freed_memory
from citeqa.core.records import read_lines, remember_roots, write_lines
from citeqa.core.settings import GenerateMode, RetrievalMode, Settings
from citeqa.core.types import (
    Answer,
    DocumentRecord,
    Evidence,
    History,
    Hit,
    IngestProgress,
    IngestReport,
    UploadResult,
)
from citeqa.ingest.quick import unchanged_report
from citeqa.retrieval.datadir import EmbeddedDataDir

if TYPE_CHECKING:
    from citeqa.answer.answerer import Answerer
    from citeqa.answer.asked import Asked, Names
    from citeqa.answer.generator import Generator
    from citeqa.answer.stream import AnswerStream
    from citeqa.ingest.pipeline import Ingestor
    from citeqa.retrieval.embedder import Embedder
    from citeqa.retrieval.retriever import Retrieved, Retriever
    from citeqa.retrieval.store import Store

ProgressFn = Callable[[IngestProgress], None]


class Citeqa:
    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        store: Store | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._store = store
        self._generator = generator
        self._owns_generator = generator is None
        self._retriever: Retriever | None = None
        self._ingestor: Ingestor | None = None
        self._answerer: Answerer | None = None
        self._build = threading.RLock()
        # One change to the index at a time, whichever edge asks (milvus-lite's client is not
        # made for concurrent writers, and two ingests of one file would race on its manifest row).
        self._writes = threading.RLock()
        # Every question that needs the chat model queues here, whichever edge asked it: one at a
        # time for the local model, CITEQA_LLM_CONCURRENCY at once for a server (CITEQA_LLM_URL).
        self.turns = TurnQueue(settings.generation_slots, max_waiting=settings.max_waiting)
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

    # -- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
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
                from citeqa.ingest.pipeline import Ingestor

                self._ingestor = Ingestor.from_settings(self.settings, self.store, self.embedder)
            return self._ingestor

    @property
    def generator(self) -> Generator:
        with self._build:
            if self._generator is None:
                from citeqa.answer.generator import make_generator

                self._generator = make_generator(self.settings)
            return self._generator

    @property
    def answerer(self) -> Answerer:
        with self._build:
            if self._answerer is None:
                from citeqa.answer.answerer import Answerer
                from citeqa.answer.support import SupportCheck

                self._answerer = Answerer(SupportCheck(self.embedder.similarity))
            return self._answerer

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
            if not prune and recorded is not None:
                report = unchanged_report(recorded, paths, on_progress)
                if report is not None:
                    return dataclasses.replace(report, seconds=time.perf_counter() - t0)
            return self.ingestor.ingest(paths, prune=prune, on_progress=on_progress, started=t0, known=recorded)

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
                if self._store is not None:
                    self._store.close()
                    self._store = self._retriever = self._ingestor = None
                old = Store.open(self.settings, embed_name=e.name, dim=e.dim, datadir=self.datadir, check=False)
                try:
                    paths = [d.path for d in old.documents()]
                    write_lines(pending, paths)
                    old.drop()
                finally:
                    old.close()
        with self._writes:
            report = self.ingestor.ingest(paths, on_progress=on_progress, started=t0)
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
            return ingest_uploads(self, uploads, on_progress=on_progress)

    def documents(self) -> list[DocumentRecord]:
        return [] if self.index_missing() else self.store.documents()

    def index_missing(self) -> bool:
        """True when the embedded index was never made: there is nothing to open, and opening it
        would create an empty data dir."""
        return self._store is None and self.settings.embedded and not self.settings.milvus_path.exists()

    def require_documents(self) -> None:
        """Raise NoDocuments when nothing is indexed: a question then has no answer to look for,
        and "the documents do not contain the answer" would mislead. Creates nothing."""
        if self.index_missing() or self.store.count_chunks() == 0:
            s = self.settings
            where = places.shown(s.data_dir.absolute()) if s.embedded else s.resolved_milvus_uri()
            raise NoDocuments(where, s.collection)

    def passages(self, path: str | Path) -> list[Hit]:
        """The indexed passages of the document at `path`, in reading order (page, then position);
        `score` is 0: they were not searched for."""
        return self.store.passages(str(path))

    def ingested_roots(self) -> list[str]:
        """The files and folders documents were ingested from (as given to `ingest`, made absolute),
        so that an interface can name a document by its path inside the folder it came from. Uploads
        are not listed (they live in the uploads folder). Empty for an index ingested before this
        was recorded."""
        return read_lines(self._roots_record())

    def _roots_record(self) -> Path:
        return self.settings.data_dir / f"{self.settings.collection}.roots.txt"

    def remove(self, paths: Sequence[str | Path], *, recursive: bool = False) -> list[str]:
        """Remove documents by file path, and with `recursive` every document under a folder; files
        in the uploads folder are deleted too (they were kept only to be indexed). A folder without
        `recursive`, the filesystem root and the data dir are refused (Refused), before anything
        is removed: one mistyped path must not empty the library."""
        from citeqa.ingest.uploads import delete_stored

        with self._writes:
            for p in paths:
                self._check_removal(p, recursive=recursive)
            removed = self.ingestor.remove(paths)
        for p in removed:
            delete_stored(self.settings.uploads_dir, p)
        return removed

    def _check_removal(self, path: str | Path, *, recursive: bool) -> None:
        target = absolute_path(path)
        if os.path.dirname(target) == target:  # "/" (or a drive's root): every document there is
            raise Refused(f"refusing to remove every document under {target}: name the folders or files to remove")
        if target == absolute_path(self.settings.data_dir):
            raise Refused(
                f"refusing to remove the data dir {target} (CITEQA_DATA_DIR): name the documents to remove, "
                "or delete the data dir itself to start over"
            )
        if recursive:
            return
        under = self.store.documents(under=[target])
        if under:
            raise Refused(
                f"{target} is a folder holding {len(under)} document(s); removing them all must be asked for "
                "explicitly (HTTP API: recursive=true; CLI: citeqa docs remove --yes)"
            )

    def stats(self) -> dict:
        docs = self.store.documents()
        return {
            "documents": len(docs),
            "pages": sum(d.pages for d in docs),
            "chunks": self.store.count_chunks(),
            "collection": self.settings.collection,
            "milvus": self.store.uri,
            "embedder": self.embedder.name,
        }

    def _embed_name(self) -> str:
        return self._embedder.name if self._embedder is not None else self.settings.embed_model_name()

    # -- questions ------------------------------------------------------------

    def retrieve(
        self, query: str, *, top_k: int | None = None, mode: RetrievalMode | None = None, sources: Sequence[str] = ()
    ) -> Retrieved:
        self.require_documents()
        return self.retriever.retrieve(query, top_k=top_k, mode=mode, sources=sources)

    def search(
        self, query: str, *, top_k: int | None = None, mode: RetrievalMode | None = None, sources: Sequence[str] = ()
    ) -> list[Hit]:
        return list(self.retrieve(query, top_k=top_k, mode=mode, sources=sources).hits)

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
        from citeqa.answer.answerer import Clock
        from citeqa.answer.asked import asked
        from citeqa.answer.conversation import search_queries
        from citeqa.answer.evidence import EVIDENCE_POOL, shown_count, with_evidence_passages

        t0 = time.perf_counter()
        self.require_documents()
        k = top_k or self.settings.top_k
        what = asked(question, history)
        queries = search_queries(question, history)
        if what.followup:  # "And for ResNet-152?" is searched for as the question it stands for
            queries[0] = what.question
        names = self.names(what)
        missing = names.missing(what)
        # Evidence is looked for in more passages than are shown (see EVIDENCE_POOL); relevance,
        # and so abstention, is judged on the top k as before. A question about a named subject is
        # searched for in the documents that mention it ("What dropout rate did Fusion-in-Decoder
        # use?": the other papers' dropout rates would outrank its own, and cannot be the answer).
        retrieved = self.retriever.retrieve_fused(
            queries,
            top_k=max(k, EVIDENCE_POOL),
            mode=mode,
            sources=sources,
            relevance_k=k,
            within=names.documents(what),
        )
        retrieve_s = time.perf_counter() - t0
        relevant = self.retriever.is_relevant(retrieved)
        evidence = () if missing else self.select_evidence(queries[0], retrieved, asked=what, names=names)
        hits, evidence = with_evidence_passages(
            retrieved.hits, k, evidence, shown_count(evidence, self.answerer.shown)
        )
        clock = Clock(t0, retrieve_s, time.perf_counter() - t0)
        return self.answerer.stream(
            question,
            hits,
            evidence,
            relevant=relevant,
            clock=clock,
            model=(lambda: self.generator) if self.generates(generate) else None,
            turns=self.turns,
            temperature=temperature,
            standalone=queries[0] if len(queries) > 1 else None,
            abstain="subject_not_in_documents" if missing else None,
            missing=missing.text if missing else None,
        )

    def select_evidence(
        self, question: str, retrieved: Retrieved, limit: int = 3, *, asked: Asked | None = None, names: Names | None = None
    ) -> tuple[Evidence, ...]:
        """The `limit` best evidence sentences of `retrieved` (citeqa.answer.evidence): every
        sentence of its first passages is embedded (relevance embedded most of them already), and
        of the deeper passages only the few sentences that share the most words with the question.
        With `asked`, only sentences that answer it (citeqa.answer.asked)."""
        from citeqa.answer.evidence import EMBEDDED_PASSAGES, select, to_embed

        assert retrieved.vector is not None
        deep = to_embed(question, retrieved.hits)
        hits = [h for i, h in enumerate(retrieved.hits) if i < EMBEDDED_PASSAGES or h.chunk_id in deep]
        vectors = self.retriever.sentence_vectors(hits, only=deep)
        return select(question, retrieved.vector, retrieved.hits, vectors, limit=limit, asked=asked, names=names)

    def names(self, what: Asked) -> Names:
        """Where the index mentions each name `what` asks about (citeqa.answer.asked.Names)."""
        from citeqa.answer.asked import Names, found_in
        from citeqa.retrieval.search import MENTIONS

        keys = list(dict.fromkeys(key for n in what.names for key in n.keys))
        if not keys:
            return Names()
        by_key = dict(zip(keys, self.retriever.mentions(keys), strict=True))
        found = {}
        for n in what.names:
            found[n.parts] = found_in(n, [h for key in n.keys for h in by_key[key]])
        return Names(found, complete=all(len(hits) < MENTIONS for hits in by_key.values()))

    def ask(self, question: str, **kwargs) -> Answer:
        return self.ask_stream(question, **kwargs).result()


def open(settings: Settings | None = None, **collaborators) -> Citeqa:
    """Open citeqa with `settings` (default: from CITEQA_* env vars and .env)."""
    return Citeqa(settings or Settings.load(), **collaborators)


def serve_db(settings: Settings, host: str, port: int, on_ready: Callable[[], None] | None = None) -> None:
    """Serve the data dir's index as a Milvus server (loopback only), so that ingest and the app
    can run at once."""
    if not settings.embedded:
        raise ConfigError("CITEQA_MILVUS_URI is set: serve-db serves the embedded index of the data dir; unset it")
    EmbeddedDataDir(settings.data_dir, settings.collection).serve(host, port, on_ready)
