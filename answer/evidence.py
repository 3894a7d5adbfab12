"""Evidence: the sentences of the retrieved passages that answer the question, verbatim, with offsets.

Pure over its inputs. Each sentence of each passage is scored

    cosine(question, sentence) + lexical × share of the question's content words in the sentence
        + neighbour × the best cosine of the sentences beside it − rank × (passage rank − 1)

and sentences under `min_words` words (headings, page numbers, equation debris) are left out. The
sentence vectors are the ones the retriever computed for its relevance figure (cached by chunk id),
so selecting evidence embeds nothing. The weights were calibrated with `citeqa eval` on the SQuAD
articles in ../shared/corpus/squad (see `Scorer`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePath

import numpy as np

from citeqa.answer.citations import content_word_set
from citeqa.core.sentences import sentence_spans
from citeqa.core.types import Evidence, Hit

# Passages searched for evidence, whatever the number shown as sources (CITEQA_TOP_K): on SQuAD,
# 8 rather than 4 raised evidence@2 from 0.855 to 0.865 (the answer is often in a passage ranked
# 5-8). Only the passages quoted join the sources, so the answer still lists top_k passages.
EVIDENCE_POOL = 8

# chunk id → (spans of the passage's scorable sentences, their unit-length embeddings, one row each)
SentenceVectors = Mapping[str, tuple[Sequence[tuple[int, int]], np.ndarray]]


@dataclass(frozen=True)
class Scorer:
    """Evidence weights, calibrated on SQuAD (1,062 answerable questions, default hybrid retrieval,
    top 4 passages) over a grid of lexical 0-1.4, rank 0-0.07, neighbour 0-0.2, with and without
    idf: evidence@1/2/3 0.768 / 0.855 / 0.884 with these, 0.657 / 0.794 / 0.848 for the cosine
    alone, 0.751 / 0.851 / 0.879 for the best without idf. A neighbour bonus did not help. Over the
    top 8 passages (EVIDENCE_POOL) the same weights were among the best again: 0.775 / 0.865 / 0.896;
    discounting file-name words (`topic`, tried 0.15-1) raised that to 0.779 / 0.872 / 0.902. The
    heading penalty changes nothing on SQuAD (no headings) and keeps titles out of the evidence
    of Markdown and PDF files."""

    lexical: float = 0.7
    neighbour: float = 0.0
    rank: float = 0.02
    min_words: int = 3
    idf: bool = True
    heading: float = 0.3  # subtracted from a line that looks like a title or heading (`is_heading`)
    # Weight of a question word that the passage's file name has ("aurora_lake_field_station.pdf"):
    # it names the document's topic, found in many of its sentences, so it locates the document
    # (retrieval's job) more than the sentence that answers.
    topic: float = 0.3


DEFAULT_SCORER = Scorer()


def select(
    question: str,
    question_vector: np.ndarray,
    hits: Sequence[Hit],
    sentences: SentenceVectors,
    *,
    question_words: frozenset[str] | None = None,
    limit: int = 3,
    scorer: Scorer = DEFAULT_SCORER,
) -> tuple[Evidence, ...]:
    """The `limit` best evidence sentences over `hits` (numbered [1..] in that order), best first.

    A sentence repeated in two passages (chunks overlap) is kept once, from the higher-ranked one."""
    words = content_word_set(question) if question_words is None else question_words
    candidates: list[tuple[int, Hit, int, int, float, float, frozenset[str]]] = []
    for n, hit in enumerate(hits, 1):
        if hit.chunk_id not in sentences:
            continue
        spans, vectors = sentences[hit.chunk_id]
        cos = vectors @ question_vector if len(spans) else []
        for i, (s, e) in enumerate(spans):
            quote = hit.text[s:e]
            if len(quote.split()) < scorer.min_words:
                continue
            near = [float(cos[j]) for j in (i - 1, i + 1) if 0 <= j < len(spans)]
            own = float(cos[i]) - (scorer.heading if is_heading(quote) else 0.0)
            candidates.append((n, hit, s, e, own, max(near, default=0.0), content_word_set(quote)))
    weight = _word_weights(words, [c[6] for c in candidates]) if scorer.idf else dict.fromkeys(words, 1.0)
    scored: list[Evidence] = []
    for n, hit, s, e, cos_i, near, sw in candidates:
        score = cos_i - scorer.rank * (n - 1) + scorer.neighbour * near
        topic = _topic_words(hit.source)
        w = {x: weight[x] * (scorer.topic if x in topic else 1.0) for x in words}
        total = sum(w.values())
        if total:
            score += scorer.lexical * sum(w[x] for x in words & sw) / total
        scored.append(Evidence(n=n, hit=hit, start=s, end=e, quote=hit.text[s:e], score=score))
    scored.sort(key=lambda ev: -ev.score)
    out: list[Evidence] = []
    seen: set[str] = set()
    for ev in scored:
        key = " ".join(ev.quote.split()).casefold()
        if key in seen:
            continue
        seen.add(key)
        out.append(ev)
        if len(out) == limit:
            break
    return tuple(out)


_TERMINAL = tuple(".!?:;)\"'”’]")


def is_heading(sentence: str) -> bool:
    """A title or heading rather than a statement: a Markdown heading, or a short line with no
    closing punctuation ("Aurora Lake Field Station: Annual Report 2023"). Titles repeat the
    question's words without answering it."""
    text = sentence.strip()
    return text.startswith("#") or (len(text.split()) <= 8 and not text.endswith(_TERMINAL))


def with_evidence_passages(
    hits: Sequence[Hit], k: int, evidence: Sequence[Evidence], shown: int = 2
) -> tuple[tuple[Hit, ...], tuple[Evidence, ...]]:
    """The first `k` hits plus the passages beyond them that the first `shown` evidence sentences
    quote, and the evidence renumbered [n] by position in that list (evidence from the other
    passages beyond k is dropped)."""
    sources = list(hits[:k])
    for ev in evidence[:shown]:
        if ev.n > k and hits[ev.n - 1] not in sources:
            sources.append(hits[ev.n - 1])
    number = {h.chunk_id: i for i, h in enumerate(sources, 1)}
    kept = tuple(replace(ev, n=number[ev.hit.chunk_id]) for ev in evidence if ev.hit.chunk_id in number)
    return tuple(sources), kept


@functools.lru_cache(maxsize=1024)
def _topic_words(source: str) -> frozenset[str]:
    return content_word_set(re.sub(r"[_\-.]+", " ", PurePath(source).stem))


def _word_weights(words: frozenset[str], pool: Sequence[frozenset[str]]) -> dict[str, float]:
    """Inverse document frequency of each question word over the candidate sentences: a word that
    every sentence has ("model", the paper's own name) tells them apart less than a rare one."""
    n = len(pool)
    return {w: math.log(1 + n / (1 + sum(1 for sw in pool if w in sw))) for w in words}


def window(ev: Evidence, size: int = 1) -> tuple[int, int]:
    """Offsets of the evidence sentence with up to `size` sentences on each side, in its passage."""
    spans = sentence_spans(ev.hit.text)
    i = next((k for k, (s, e) in enumerate(spans) if s <= ev.start < e or (s >= ev.start and e <= ev.end)), None)
    if i is None:
        return ev.start, ev.end
    lo, hi = max(0, i - size), min(len(spans) - 1, i + size)
    return min(spans[lo][0], ev.start), max(spans[hi][1], ev.end)
