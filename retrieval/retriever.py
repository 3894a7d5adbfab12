"""Query → ranked, de-duplicated passages, with a relevance figure for abstention."""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from citeqa.core.errors import ConfigError, NoDocuments
from citeqa.core.sentences import scorable_spans
from citeqa.core.settings import RETRIEVAL_MODES, RetrievalMode, Settings
from citeqa.core.tables import readings, table_name
from citeqa.core.types import Hit, Retrieved
from citeqa.retrieval.embedder import Embedder
from citeqa.retrieval.fusion import Fusion
from citeqa.retrieval.reranker import Reranker
from citeqa.retrieval.rows import quote
from citeqa.retrieval.search import Searcher
from citeqa.retrieval.sources import check_globs, glob_matcher, glob_to_filter
from citeqa.retrieval.store import Store

_WORD = re.compile(r"\w+")
_SENTENCE_CACHE = 24576  # sentence vectors kept (1.5 KB each; about 4,000 passages)


class Retriever:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        mode: RetrievalMode,
        top_k: int,
        min_score: float,
        max_sources: int,
        max_source_chars: int,
        candidates: int = 50,
        fusion: Fusion | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        """The values that are settings have no defaults here: their one home is citeqa.core.settings
        (`from_settings`)."""
        self.store = store
        self.searcher = Searcher(store)
        self.embedder = embedder
        self.mode = mode
        self.top_k = top_k
        self.min_score = min_score
        # Candidates per leg of hybrid search: on SQuAD, 50 ranked as well as 100 (10 lost 1.5
        # points of hit@1) at half the search time.
        self.candidates = candidates
        self.fusion = fusion or Fusion()
        self.reranker = reranker
        # Every edge's globs pass here (CLI, web app, HTTP API, MCP, LangChain): bounded here too.
        self.max_sources = max_sources
        self.max_source_chars = max_source_chars
        self._sentences: OrderedDict[tuple[str, int, int], np.ndarray] = OrderedDict()
        self._cells: OrderedDict[str, np.ndarray] = OrderedDict()  # table cells as `readings` reads them
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, embedder: Embedder) -> Retriever:
        return cls(
            store,
            embedder,
            mode=settings.retrieval,
            top_k=settings.top_k,
            min_score=settings.min_score,
            reranker=Reranker.from_settings(settings),
            max_sources=settings.max_sources,
            max_source_chars=settings.max_source_chars,
        )

    def retrieve(
        self,
        query: str,
        *,
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        sources: Sequence[str] = (),
    ) -> Retrieved:
        return self.retrieve_many([query], top_k=top_k, mode=mode, sources=sources)[0]

    def retrieve_many(
        self,
        queries: Sequence[str],
        *,
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        sources: Sequence[str] = (),
        fusion: Fusion | None = None,
        relevance_k: int | None = None,
        vectors: np.ndarray | None = None,
        within: Sequence[str] = (),
    ) -> list[Retrieved]:
        """`retrieve` for many queries at once: one embedding batch and one Milvus call per leg.

        `relevance_k` judges relevance on the first that many hits rather than all `top_k`
        (the evaluation ranks 10 passages but abstains as `ask` would, on the `top_k` it gives the
        model); `vectors` are the queries' embeddings if the caller already has them; `within`:
        only the documents at these exact paths (those about the question's subject)."""
        mode = mode or self.mode
        if mode not in RETRIEVAL_MODES:
            raise ConfigError(f"unknown retrieval mode {mode!r}; use one of {', '.join(RETRIEVAL_MODES)}")
        if not queries:
            return []
        k = top_k or self.top_k
        check_globs(sources, self.max_sources, self.max_source_chars)
        expr = glob_to_filter(sources) if sources else ""
        if within:
            only = "source in [" + ", ".join(quote(p) for p in within) + "]"
            expr = f"({expr}) and {only}" if expr else only
        qvecs = self.embedder.embed_documents(queries) if vectors is None else vectors
        # Over-fetch so that de-duplication still leaves k distinct passages, and give a reranker
        # all the candidates it reorders.
        fetch = max(k + max(k, 10), self.reranker.candidates if self.reranker else 0)
        if mode == "dense":
            ranked = self.searcher.dense(qvecs, fetch, expr)
        elif mode == "bm25":
            ranked = self.searcher.bm25(queries, fetch, expr)
        else:
            ranked = self.searcher.hybrid(
                qvecs, queries, fetch, expr, candidates=max(self.candidates, fetch), ranker=(fusion or self.fusion).ranker()
            )
        if sources:
            # The Milvus filter may over-match a little (see glob_to_filter); make it exact.
            match = glob_matcher(sources)
            ranked = [[h for h in hits if match(h.source)] for hits in ranked]
        if self.reranker is not None:
            ranked = self.reranker.rerank_many(queries, ranked)
        kept = [diverse(few_rows_per_table(hits), k) for hits in ranked]
        rel_k = min(relevance_k or k, k)
        relevance = self._relevance(qvecs, [hits[:rel_k] for hits in kept])
        return [
            Retrieved(query=q, hits=tuple(h), relevance=r, mode=mode, vector=v)
            for q, h, r, v in zip(queries, kept, relevance, qvecs, strict=True)
        ]

    def retrieve_fused(
        self,
        queries: Sequence[str],
        *,
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        sources: Sequence[str] = (),
        relevance_k: int | None = None,
        rrf_k: int = 60,
        within: Sequence[str] = (),
        relevant_by: int = 1,
    ) -> Retrieved:
        """Several phrasings of one question (a follow-up joined with the question before it, and
        its own words): each list retrieved, fused by reciprocal rank, ties going to the earlier
        query. The vector is the first query's; relevance the best of the first `relevant_by`
        queries' own (each over its own first `relevance_k` hits)."""
        got = self.retrieve_many(
            queries, top_k=top_k, mode=mode, sources=sources, relevance_k=relevance_k, within=within
        )
        if len(got) == 1:
            return got[0]
        score: dict[str, float] = {}
        by_id: dict[str, Hit] = {}
        for qi, r in enumerate(got):
            for rank, h in enumerate(r.hits, 1):
                score[h.chunk_id] = score.get(h.chunk_id, 0.0) + 1 / (rrf_k + rank) - qi * 1e-9
                by_id.setdefault(h.chunk_id, h)
        k = top_k or self.top_k
        hits = tuple(sorted(by_id.values(), key=lambda h: -score[h.chunk_id])[:k])
        first = got[0]
        # Relevance is the first queries' over their own best passages: the other phrasings change
        # which passages are searched for evidence, not whether the documents hold an answer.
        relevance = max(r.relevance for r in got[: max(1, relevant_by)])
        return Retrieved(query=first.query, hits=hits, relevance=relevance, mode=first.mode, vector=first.vector)

    def require_documents(self) -> None:
        """Raise NoDocuments when nothing is indexed: a question then has no answer to look for,
        and "the documents do not contain the answer" would mislead."""
        if self.store.count_chunks() == 0:
            raise NoDocuments(self.store.location, self.store.collection)

    def opening(self, source: str) -> Hit | None:
        """The first passage of a document (citeqa.retrieval.store.Store.opening)."""
        return self.store.opening(source)

    def passages(self, source: str) -> list[Hit]:
        """A document's passages in reading order (citeqa.retrieval.store.Store.passages)."""
        return self.store.passages(source)

    def mentions(self, words: Sequence[str]) -> list[list[Hit]]:
        """For each word, the passages whose text has it (citeqa.retrieval.search.Searcher.mentions)."""
        return self.searcher.mentions(words) if words else []

    def search(self, query: str, **kwargs) -> list[Hit]:
        return list(self.retrieve(query, **kwargs).hits)

    def is_relevant(self, retrieved: Retrieved) -> bool:
        return bool(retrieved.hits) and retrieved.relevance >= self.min_score

    # -- relevance ------------------------------------------------------------

    def _relevance(self, qvecs: np.ndarray, hit_lists: Sequence[Sequence[Hit]]) -> list[float]:
        """Best cosine of each query with any sentence of its hits.

        Sentences rather than whole passages: an answerable question is usually a paraphrase of
        one sentence, which a 200-token passage dilutes with its neighbours. On SQuAD, at the
        threshold that wrongly abstains on 5% of answerable questions, sentence cosine abstains
        on twice the share of unanswerable ones that passage cosine does."""
        vecs = self.sentence_vectors([h for hits in hit_lists for h in hits])
        # A table row is also compared cell by cell, each read with its label and header, with
        # the headers' abbreviations as written and spelt out (citeqa.core.tables.readings): the
        # row's whole line is numbers and letters to the embedder (cosine 0.33 with "What EM does
        # RAG reach on NaturalQuestions?"; "RAG (...): NaturalQuestions EM 44.5", 0.54).
        rows = {h.chunk_id: self._cell_vectors(h.text) for hits in hit_lists for h in hits if table_name(h.location)}
        out = []
        for q, hits in zip(qvecs, hit_lists, strict=True):
            best = [float((vecs[h.chunk_id][1] @ q).max()) for h in hits]
            best += [float((rows[h.chunk_id] @ q).max()) for h in hits if len(rows.get(h.chunk_id, ()))]
            out.append(max(best, default=0.0))
        return out

    def _cell_vectors(self, text: str) -> np.ndarray:
        """The embeddings of a row passage's cells as `readings` reads them (cached by reading)."""
        read = readings(text)
        found = self._embedded(self._cells, {r: r for r in read})
        return np.stack([found[r] for r in read]) if read else np.zeros((0, 0))

    def _embedded(self, cache: OrderedDict, texts: Mapping) -> dict:
        """The embeddings of `texts` (key: text), from `cache` where it has them; the others are
        embedded in one batch and kept, the least recently used dropped past _SENTENCE_CACHE."""
        with self._lock:
            found = {k: cache[k] for k in texts if k in cache}
            for k in found:
                cache.move_to_end(k)
        todo = [k for k in texts if k not in found]
        if todo:
            vecs = self.embedder.embed_documents([texts[k] for k in todo])
            with self._lock:
                for k, v in zip(todo, vecs, strict=True):
                    found[k] = cache[k] = v
                while len(cache) > _SENTENCE_CACHE:
                    cache.popitem(last=False)
        return found

    def sentence_vectors(
        self, hits: Sequence[Hit], only: Mapping[str, Sequence[tuple[int, int]]] | None = None
    ) -> dict[str, tuple[list[tuple[int, int]], np.ndarray]]:
        """Per chunk id: the spans of its sentences worth comparing with a question (see
        `scorable_spans`), or for a chunk id in `only` just those spans, and their embeddings, one
        row each. Cached by sentence (chunk ids derive from content, so an entry can never go
        stale): repeated questions over the same passages embed nothing, and evidence selection
        reuses what relevance computed."""
        want = {}
        for h in hits:
            spans = list(only[h.chunk_id]) if only is not None and h.chunk_id in only else list(scorable_spans(h.text))
            if spans:
                want.setdefault(h.chunk_id, (h.text, spans))
        found = self._embedded(
            self._sentences, {(cid, s, e): text[s:e] for cid, (text, spans) in want.items() for s, e in spans}
        )
        return {
            cid: (spans, np.stack([found[(cid, s, e)] for s, e in spans])) for cid, (_text, spans) in want.items()
        }


@functools.lru_cache(maxsize=8192)
def _shingles(text: str) -> frozenset[tuple[str, ...]]:
    # Cached: the same passages come back for query after query (an evaluation computed each
    # passage's shingles thousands of times).
    words = _WORD.findall(text.lower())
    return frozenset(tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 1)))


# Rows of one table kept among a question's passages. Every row of a table is a passage of its own
# with the table's caption and headers, so a question that shares the caption's words ("... on the
# CIFAR-10 test set") draws a dozen rows of one table and pushes out the prose that answers it.
ROWS_PER_TABLE = 3


def few_rows_per_table(hits: Sequence[Hit], limit: int = ROWS_PER_TABLE) -> list[Hit]:
    """`hits` with at most `limit` row passages of each table (the best ranked ones)."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for h in hits:
        if table_name(h.location):
            key = (h.source, h.location)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > limit:
                continue
        out.append(h)
    return out


def diverse(hits: Sequence[Hit], k: int, *, max_overlap: float = 0.6) -> list[Hit]:
    """Top-k hits, skipping any whose text mostly repeats a hit already kept
    (the same passage in two files, or neighbouring chunks that overlap).

    Overlap is the share of word 3-grams the shorter text has in common with a kept one, so a
    short passage wholly contained in a longer one counts as a duplicate. Neighbouring chunks share
    only their chunk overlap (30 of 200 tokens by default), well under the 0.6 bar, and are kept:
    on SQuAD, allowing one hit per neighbourhood (same file, adjacent chunk index) lowered hybrid
    hit@5 from 0.971 to 0.953 and hit@10 from 0.987 to 0.964, because the chunk beside the best
    match often holds the answer."""
    kept: list[Hit] = []
    kept_sh: list[frozenset[tuple[str, ...]]] = []
    for h in hits:
        sh = _shingles(h.text)
        if any(len(sh & o) / max(min(len(sh), len(o)), 1) > max_overlap for o in kept_sh):
            continue
        kept.append(h)
        kept_sh.append(sh)
        if len(kept) == k:
            break
    return kept
