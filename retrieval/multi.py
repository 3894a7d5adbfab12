"""One question over several collections: each searched as usual, the results fused.

`Joined` offers what the question path uses of a Retriever (retrieve, retrieve_fused, mentions,
sentence_vectors, is_relevant), so a question over several collections is answered by the same
code as one over a single collection. Every hit is tagged with its collection, which its label
(and so every quote) names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from citeqa.core.errors import NoDocuments
from citeqa.core.settings import RetrievalMode
from citeqa.core.types import Hit, Retrieved
from citeqa.retrieval.retriever import Retriever


def _tagged(name: str, hits: Sequence[Hit]) -> list[Hit]:
    return [dataclasses.replace(h, collection=name) for h in hits]


class Joined:
    def __init__(self, parts: Mapping[str, Retriever]) -> None:
        if not parts:
            raise ValueError("Joined needs at least one collection")
        self.parts = dict(parts)
        self.first = next(iter(self.parts.values()))
        self.embedder = self.first.embedder
        self.top_k = self.first.top_k

    def retrieve(
        self, query: str, *, top_k: int | None = None, mode: RetrievalMode | None = None, sources: Sequence[str] = ()
    ) -> Retrieved:
        return self.retrieve_fused([query], top_k=top_k, mode=mode, sources=sources)

    def retrieve_fused(
        self,
        queries: Sequence[str],
        *,
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        sources: Sequence[str] = (),
        relevance_k: int | None = None,
        within: Sequence[str] = (),
        **kwargs: object,
    ) -> Retrieved:
        """Each collection's own ranking (fused over `queries` as for one collection), merged by
        score: every mode's scores are comparable across collections (cosine for dense, the same
        reciprocal-rank formula for hybrid, BM25 over like-sized passages), and a tie goes to the
        collection named first. Relevance is judged again on the merged top hits."""
        k = top_k or self.top_k
        merged: list[tuple[float, int, Hit]] = []
        got: list[Retrieved] = []
        for i, (name, r) in enumerate(self.parts.items()):
            one = r.retrieve_fused(
                queries, top_k=k, mode=mode, sources=sources, relevance_k=relevance_k, within=within, **kwargs
            )
            got.append(one)
            merged += [(-h.score, i, h) for h in _tagged(name, one.hits)]
        merged.sort(key=lambda t: (t[0], t[1]))
        hits = tuple(h for _s, _i, h in merged[:k])
        first = got[0]
        assert first.vector is not None
        rel_k = min(relevance_k or k, k)
        relevance = self.first._relevance(first.vector[None, :], [hits[:rel_k]])[0] if hits else 0.0
        return Retrieved(query=first.query, hits=hits, relevance=relevance, mode=first.mode, vector=first.vector)

    def search(self, query: str, **kwargs) -> list[Hit]:
        return list(self.retrieve(query, **kwargs).hits)

    def require_documents(self) -> None:
        """Only when every collection asked is empty."""
        error: NoDocuments | None = None
        for r in self.parts.values():
            try:
                r.require_documents()
                return
            except NoDocuments as exc:
                error = exc
        assert error is not None
        raise error

    def opening(self, source: str) -> Hit | None:
        for name, r in self.parts.items():
            hit = r.opening(source)
            if hit is not None:
                return _tagged(name, [hit])[0]
        return None

    def passages(self, source: str) -> list[Hit]:
        for name, r in self.parts.items():
            hits = r.passages(source)
            if hits:
                return _tagged(name, hits)
        return []

    def mentions(self, words: Sequence[str]) -> list[list[Hit]]:
        if not words:
            return []
        out: list[list[Hit]] = [[] for _ in words]
        for name, r in self.parts.items():
            for i, hits in enumerate(r.mentions(words)):
                out[i] += _tagged(name, hits)
        return out

    def sentence_vectors(
        self, hits: Sequence[Hit], only: Mapping[str, Sequence[tuple[int, int]]] | None = None
    ) -> dict[str, tuple[list[tuple[int, int]], np.ndarray]]:
        # One embedder serves every collection, so one cache does too.
        return self.first.sentence_vectors(hits, only)

    def is_relevant(self, retrieved: Retrieved) -> bool:
        return self.first.is_relevant(retrieved)
