"""The Python API: one object that ingests, searches and answers.

    import citeqa
    with citeqa.open() as qa:
        qa.ingest(["~/papers"])
        answer = qa.ask("What learning rate did they use?")

Collaborators (embedder, store, generator) can be passed in; otherwise they
are built from the settings, the chat model only when first needed.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.settings import RetrievalMode, Settings
from citeqa.types import Answer, DocumentRecord, Hit, IngestReport, Timings
from ingest.pipeline import Ingestor, ProgressFn
from retrieval.embedder import Embedder
from retrieval.retriever import Retrieved, Retriever
from retrieval.store import Store

if TYPE_CHECKING:
    from answer import Answerer, Generator

# Conversation turns, oldest first: ("user", question) and ("assistant", answer) pairs.
History = Sequence[tuple[str, str]]


class AskStream:
    """Iterate for the answer's text as it is generated; `.answer` holds the full
    Answer once iteration ends (or call `.result()`)."""

    def __init__(self, pieces: Iterator[str], finish: callable) -> None:  # type: ignore[valid-type]
        self._pieces = pieces
        self._finish = finish
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        yield from self._pieces
        self.answer = self._finish()

    def result(self) -> Answer:
        for _ in self:
            pass
        assert self.answer is not None
        return self.answer


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
        self.embedder = embedder or Embedder.from_settings(settings)
        self.store = store or Store.open(settings, embed_name=self.embedder.name, dim=self.embedder.dim)
        self.retriever = Retriever.from_settings(settings, self.store, self.embedder)
        self.ingestor = Ingestor.from_settings(settings, self.store, self.embedder)
        self._generator = generator
        self._answerer: Answerer | None = None
        self._load_lock = threading.Lock()

    # -- lifecycle ------------------------------------------------------------

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Citeqa:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def generator(self) -> Generator:
        with self._load_lock:
            if self._generator is None:
                from answer import Generator

                self._generator = Generator.from_settings(self.settings)
            return self._generator

    @property
    def answerer(self) -> Answerer:
        gen = self.generator
        with self._load_lock:
            if self._answerer is None:
                from answer import Answerer

                self._answerer = Answerer(gen, self.embedder.similarity)
            return self._answerer

    # -- documents ------------------------------------------------------------

    def ingest(self, paths: Sequence[str | Path], *, prune: bool = False, on_progress: ProgressFn | None = None) -> IngestReport:
        return self.ingestor.ingest(paths, prune=prune, on_progress=on_progress)

    def documents(self) -> list[DocumentRecord]:
        return self.store.documents()

    def remove(self, paths: Sequence[str | Path]) -> list[str]:
        return self.ingestor.remove(paths)

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

    # -- questions ------------------------------------------------------------

    def retrieve(
        self, query: str, *, top_k: int | None = None, mode: RetrievalMode | None = None, sources: Sequence[str] = ()
    ) -> Retrieved:
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
    ) -> AskStream:
        from answer import NOT_IN_DOCS, Answerer

        t0 = time.perf_counter()
        standalone = self.answerer.rewrite_followup(question, history) if history else question
        retrieved = self.retrieve(standalone, top_k=top_k, mode=mode, sources=sources)
        retrieve_s = time.perf_counter() - t0

        if not self.retriever.is_relevant(retrieved):
            # Below the relevance threshold the model is never called: it would answer from memory.
            def abstain() -> Answer:
                return Answerer.abstained(question, retrieved.hits, Timings(retrieve_s=retrieve_s, total_s=time.perf_counter() - t0))

            return AskStream(iter([NOT_IN_DOCS]), abstain)

        inner = self.answerer.stream(
            question if not history else standalone, retrieved.hits, history=history, temperature=temperature
        )

        def finish() -> Answer:
            a = inner.answer
            assert a is not None
            first = a.timings.first_token_s
            return dataclasses.replace(
                a,
                question=question,
                standalone_question=standalone if standalone != question else None,
                timings=Timings(
                    retrieve_s=retrieve_s,
                    first_token_s=None if first is None else retrieve_s + first,
                    total_s=time.perf_counter() - t0,
                ),
            )

        return AskStream(iter(inner), finish)

    def ask(self, question: str, **kwargs) -> Answer:
        return self.ask_stream(question, **kwargs).result()


def open(settings: Settings | None = None, **collaborators) -> Citeqa:
    """Open citeqa with `settings` (default: from CITEQA_* env vars and .env)."""
    return Citeqa(settings or Settings(), **collaborators)
