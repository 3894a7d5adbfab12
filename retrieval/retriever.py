"""Query → ranked, de-duplicated passages, with a relevance figure for abstention."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from citeqa.errors import ConfigError
from citeqa.settings import RetrievalMode, Settings
from citeqa.types import Hit
from retrieval.embedder import Embedder
from retrieval.store import Store, glob_to_filter

MODES: tuple[RetrievalMode, ...] = ("dense", "bm25", "hybrid")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Retrieved:
    """Hits in rank order; `relevance` is the best cosine similarity of query and passage,
    whatever the ranking mode, so one abstention threshold serves every mode."""

    query: str
    hits: tuple[Hit, ...]
    relevance: float
    mode: RetrievalMode


class Retriever:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        mode: RetrievalMode = "hybrid",
        top_k: int = 4,
        min_score: float = 0.0,
        candidates: int = 50,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.mode = mode
        self.top_k = top_k
        self.min_score = min_score
        self.candidates = candidates

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, embedder: Embedder) -> Retriever:
        return cls(store, embedder, mode=settings.retrieval, top_k=settings.top_k, min_score=settings.min_score)

    def retrieve(
        self,
        query: str,
        *,
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        sources: Sequence[str] = (),
    ) -> Retrieved:
        mode = mode or self.mode
        if mode not in MODES:
            raise ConfigError(f"unknown retrieval mode {mode!r}; use one of {', '.join(MODES)}")
        k = top_k or self.top_k
        expr = glob_to_filter(sources) if sources else ""
        qvec = self.embedder.embed_query(query)
        # Over-fetch so that de-duplication still leaves k distinct passages.
        fetch = max(k * 3, k + 10)
        if mode == "dense":
            hits = self.store.search_dense(qvec, fetch, expr)
            cosines = [h.score for h in hits]
        elif mode == "bm25":
            hits = self.store.search_bm25(query, fetch, expr)
            cosines = list(self.embedder.similarity(query, [h.text for h in hits[:k]])) if hits else []
        else:
            pairs = self.store.search_hybrid(qvec, query, fetch, expr, candidates=max(self.candidates, fetch))
            hits = [h for h, _ in pairs]
            cosines = [float(v @ qvec) for _, v in pairs]
        hits = diverse(hits, k)
        relevance = max(cosines[: max(k, 1)], default=0.0)
        return Retrieved(query=query, hits=tuple(hits), relevance=float(relevance), mode=mode)

    def search(self, query: str, **kwargs) -> list[Hit]:
        return list(self.retrieve(query, **kwargs).hits)

    def is_relevant(self, retrieved: Retrieved) -> bool:
        return bool(retrieved.hits) and retrieved.relevance >= self.min_score


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 1))}


def diverse(hits: Sequence[Hit], k: int, *, max_overlap: float = 0.6) -> list[Hit]:
    """Top-k hits, skipping any whose text mostly repeats a hit already kept
    (the same passage in two files, or neighbouring chunks that overlap)."""
    kept: list[Hit] = []
    kept_sh: list[set[tuple[str, ...]]] = []
    for h in hits:
        sh = _shingles(h.text)
        if any(len(sh & o) / max(min(len(sh), len(o)), 1) > max_overlap for o in kept_sh):
            continue
        kept.append(h)
        kept_sh.append(sh)
        if len(kept) == k:
            break
    return kept
