"""Searches of the chunk collection: dense, BM25 and both fused inside Milvus, always in batches.

Every search takes a batch of queries: Milvus answers nq queries in one call far faster than nq
calls (one round trip, one plan), which is what keeps `citeqa eval` over thousands of questions
within minutes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from citeqa.core.types import Hit
from citeqa.retrieval import schema
from citeqa.retrieval.store import Store

_SEARCH_BATCH = 256  # queries per search call
# Passages looked at per name (`Searcher.mentions`): enough to tell which documents mention it
# and where; a name in more passages than this is in the documents whatever the rest say.
MENTIONS = 200

# Lucene's English stop words (Milvus's "_english_" filter). BM25 gives them almost no weight, as
# nearly every passage has them, but milvus-lite scores a query term by walking its whole posting
# list in Python: at 20,000 passages "the", "of", "was" and "in" were most of a 0.4 s search.
_STOP_WORDS = frozenset(
    ["a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was", "will", "with"]
)
_WORD = re.compile(r"\w+")  # milvus-lite's standard analyzer's tokens


def keywords(query: str) -> str:
    """The words of `query` that BM25 can weigh: its stop words dropped (all kept if that leaves none)."""
    words = [w for w in _WORD.findall(query) if w.lower() not in _STOP_WORDS]
    return " ".join(words) if words else query


class Searcher:
    def __init__(self, store: Store) -> None:
        self.store = store

    def dense(self, vectors: np.ndarray, limit: int, expr: str = "") -> list[list[Hit]]:
        return self._search(vectors.tolist(), "vector", "COSINE", limit, expr, abs_score=False)

    def bm25(self, queries: Sequence[str], limit: int, expr: str = "") -> list[list[Hit]]:
        # BM25 scores are non-negative; milvus-lite reports them negated as distances.
        return self._search([keywords(q) for q in queries], "sparse", "BM25", limit, expr, abs_score=True)

    def mentions(self, words: Sequence[str], limit: int = MENTIONS) -> list[list[Hit]]:
        """For each word (one token of Milvus's analyzer), the passages that have it: BM25 over the
        word alone scores only passages whose text holds it. Searching the index itself keeps this
        vocabulary right through every ingest, re-ingest and removal, embedded or on a server."""
        return self._search(list(words), "sparse", "BM25", limit, "", abs_score=True)

    def _search(self, data: list, field: str, metric: str, limit: int, expr: str, *, abs_score: bool) -> list[list[Hit]]:
        out: list[list[Hit]] = []
        for i in range(0, len(data), _SEARCH_BATCH):
            res = self.store.call(
                self.store.client.search,
                self.store.collection,
                data=data[i : i + _SEARCH_BATCH],
                anns_field=field,
                limit=limit,
                filter=expr,
                output_fields=schema.CHUNK_FIELDS,
                search_params={"metric_type": metric},
            )
            out += [[_hit(r, abs(r["distance"]) if abs_score else r["distance"]) for r in row] for row in res]
        return out

    def hybrid(
        self, vectors: np.ndarray, queries: Sequence[str], limit: int, expr: str, *, candidates: int, ranker: Any
    ) -> list[list[Hit]]:
        """Dense and BM25 legs merged by Milvus itself with `ranker` (a pymilvus ranker); each hit's
        score is the fused score. The filter goes on each leg, so both draw their candidates from
        the matching sources only."""
        from pymilvus import AnnSearchRequest

        out: list[list[Hit]] = []
        where = expr or None
        for i in range(0, len(queries), _SEARCH_BATCH):
            batch = slice(i, i + _SEARCH_BATCH)
            reqs = [
                AnnSearchRequest(vectors[batch].tolist(), "vector", {"metric_type": "COSINE"}, candidates, expr=where),
                AnnSearchRequest([keywords(q) for q in queries[batch]], "sparse", {"metric_type": "BM25"}, candidates, expr=where),
            ]
            res = self.store.call(
                self.store.client.hybrid_search, self.store.collection, reqs, ranker, limit=limit, output_fields=schema.CHUNK_FIELDS
            )
            out += [[_hit(r, r["distance"]) for r in row] for row in res]
        return out


def _hit(r: dict, score: float) -> Hit:
    e = r["entity"]
    return Hit(
        chunk_id=str(r["id"]),
        source=e["source"],
        page=e["page"] or None,
        text=e["text"],
        score=float(score),
        index=int(e["chunk_index"]),
        location=e.get("location") or "",
    )
