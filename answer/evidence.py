"""Evidence: the sentences of the retrieved passages that answer the question, verbatim, with offsets.

Pure over its inputs. Each scorable sentence (citeqa.core.sentences.scorable_spans) of at least
`min_words` words of each passage is scored

    cosine(question, sentence)
      + lexical × share of the question's content words in the sentence (stemmed, idf-weighted,
                  a hyphenated name's words sharing one word's weight)
      + neighbour × share of the question's words the sentence lacks but a sentence beside it has
      + number × [the question asks for a quantity or a time, and the sentence states a number]
      − rank × (passage rank − 1)
      − label × [a heading, a figure or table caption, or a run of bare numbers]

The sentence vectors are the ones the retriever computed for its relevance figure (cached by
sentence), plus those of a few sentences of the deeper passages, chosen by words alone
(`to_embed`), so that selection embeds little. The weights were calibrated with `citeqa eval` on
the SQuAD articles in ../shared/corpus/squad (see `Scorer`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from citeqa.answer.asked import Asked
from citeqa.answer.evidence_text import (
    asks_quantity,
    compound_share,
    is_caption,
    is_label,
    is_title,
    states_number,
    stems,
    topic_stems,
    with_antecedent,
)
from citeqa.answer.literals import gives_quoted, quoted, states_code, states_path
from citeqa.answer.mentions import mentions
from citeqa.answer.names import Names
from citeqa.answer.people import names_someone
from citeqa.answer.releases import entry_at, has_terms, other_entry
from citeqa.answer.repeats import beside_previous, repeats
from citeqa.answer.siblings import opens_with_other, other_size
from citeqa.answer.stated import answers
from citeqa.answer.versions import asked_version, only_given_versions, other_version, states_version
from citeqa.core.sentences import TABLE_ROW, is_question, scorable_spans, sentence_spans
from citeqa.core.tables import is_header_line, row_label, row_start
from citeqa.core.types import Evidence, Hit

# The constants' measurements (SQuAD evidence@1/2/3, answer length, time) are in bench/README.md,
# "Evidence pool and how many sentences are quoted".
EVIDENCE_POOL = 20  # passages searched for evidence, whatever the number shown as sources (CITEQA_TOP_K)
EMBEDDED_PASSAGES = 8  # every sentence of these is embedded; of the passages after them only
DEEP_SENTENCES = 16  # the sentences with the most of the question's words (`to_embed`)
THIRD_WITHIN = 0.1  # a third sentence is quoted when it scores within this of the first (`shown_count`)
QUOTE_FLOOR = 0.5  # a sentence after the best is quoted only if it scores at least this

# chunk id → (spans of the passage's sentences with vectors, their unit-length embeddings, one row each)
SentenceVectors = Mapping[str, tuple[Sequence[tuple[int, int]], np.ndarray]]


@dataclass(frozen=True)
class Scorer:
    """Evidence weights, calibrated on SQuAD (1,062 answerable questions, default hybrid retrieval):
    each step of the calibration, and what was tried and left out, is in bench/README.md ("The
    `Scorer` weights"). `label` is the former heading penalty, now also given to captions and
    number runs: it keeps figure captions and axis labels of PDFs, which repeat a paper's key
    words, out of the evidence."""

    lexical: float = 0.9
    neighbour: float = 0.2
    number: float = 0.2
    rank: float = 0.02
    min_words: int = 3
    idf: bool = True
    label: float = 0.3  # subtracted from a heading, caption or number run (`is_label`)
    # Weight of a question word that the passage's file name has ("aurora_lake_field_station.pdf"):
    # it names the document's topic, found in many of its sentences, so it locates the document
    # (retrieval's job) more than the sentence that answers.
    topic: float = 0.3
    # A hyphenated name in the question ("Fusion-in-Decoder", "batch-normalized") is one concept:
    # its words share one word's weight (`compound_share`) instead of outweighing the rest of the
    # question, which a sentence that merely names the method matched twice over.
    compound: bool = True
    # A follow-up that points back ("And when was that measured?") is about the previous answer's
    # fact: a sentence within two of a sentence that answer quoted gets this much (the sentence
    # before "... maximum depth as 47 metres" dates the survey that measured it).
    beside_previous: float = 0.3
    # A table row whose label names the subject of a quantity question ("VGG-16 [41]: top-1 err. 28.07 ·
    # ...") and passed the checks of what was asked gives the asked value of that very thing; a
    # row ranks low in retrieval (numbers share few words with a question), which this makes up.
    named_row: float = 0.3
    # "Which optimizer is Fusion-in-Decoder trained with?": a sentence with the asked thing's word over
    # one that only names the subject (not a test: SQuAD's answers paraphrase it).
    asked_thing: float = 0.11


DEFAULT_SCORER = Scorer()


@dataclass(frozen=True)
class _Sentence:
    start: int
    end: int
    words: frozenset[str]  # stemmed content words
    near: frozenset[str]  # those of the sentences just before and after it
    number: bool
    label: bool
    asks: bool  # a question itself
    caption: bool  # a figure's or table's caption, which states no value of its own
    row: bool = False  # a table row's line (citeqa.core.tables), read with its caption and headers


@functools.lru_cache(maxsize=4096)
def _sentences(text: str, min_words: int) -> tuple[_Sentence, ...]:
    spans = scorable_spans(text)
    words = [stems(text[s:e]) for s, e in spans]
    out = []
    row_at = row_start(text)
    for i, (s, e) in enumerate(spans):
        quote = text[s:e]
        if len(quote.split()) < min_words:
            continue
        near = (words[i - 1] if i else frozenset()) | (words[i + 1] if i + 1 < len(spans) else frozenset())
        if TABLE_ROW.fullmatch(quote) or s == row_at:
            # A row's words are its table's too: its caption and headers name what its cells
            # measure ("Table 7. Object detection mAP (%) on the PASCAL VOC 2007/2012 test sets").
            out.append(_Sentence(s, e, stems(text), near, True, False, False, False, row=True))
            continue
        # "Table 2." split off by the sentence splitter leaves "Top-1 error (%) on ImageNet
        # validation." a caption all the same
        caption = is_caption(quote) or bool(_NUMBERED_LABEL.search(text, max(0, s - 24), s))
        label = is_label(quote) or caption
        out.append(_Sentence(s, e, words[i], near, states_number(quote), label, is_question(quote), caption))
    return tuple(out)


_NUMBERED_LABEL = re.compile(r"\b(?:Table|Tab\.|Figure|Fig\.)\s?\d{1,3}[.:]\s*$")


@dataclass(frozen=True)
class _Pool:
    """A question's words and the sentences of its passages, as `to_embed` and `select` read them."""

    words: frozenset[str]
    weight: dict[str, float]
    quantity: bool
    sentences: list[tuple[int, Hit, _Sentence]]  # (passage number, passage, sentence)

    def weights(self, hit: Hit, scorer: Scorer) -> dict[str, float]:
        topic = topic_stems(hit.source)
        return {x: self.weight[x] * (scorer.topic if x in topic else 1.0) for x in self.words}


def _pool(question: str, hits: Sequence[Hit], scorer: Scorer) -> _Pool:
    words = stems(question)
    # A question in the text that asks nothing the user's did not ("What is rustdoc?" under the
    # user's "What is rustdoc?", a FAQ's heading) is the best match and answers nothing; a
    # question with words of its own ("Is there a route of at most 2000 km ...?") may hold the fact.
    sentences = [
        (n, hit, s)
        for n, hit in enumerate(hits, 1)
        for s in _sentences(hit.text, scorer.min_words)
        if not (s.asks and s.words <= words)
    ]
    weight = _word_weights(words, [s.words for _, _, s in sentences]) if scorer.idf else dict.fromkeys(words, 1.0)
    if scorer.compound:
        share = compound_share(question)
        weight = {w: x * share.get(w, 1.0) for w, x in weight.items()}
    return _Pool(words, weight, asks_quantity(question), sentences)


def to_embed(
    question: str,
    hits: Sequence[Hit],
    *,
    embedded: int = EMBEDDED_PASSAGES,
    deep: int = DEEP_SENTENCES,
    scorer: Scorer = DEFAULT_SCORER,
    asked: Asked | None = None,
    names: Names | None = None,
) -> dict[str, list[tuple[int, int]]]:
    """Per chunk id, the spans of the sentences beyond the first `embedded` passages worth
    embedding for `select`: the `deep` with the largest weighted share of the question's words
    (none without any), among those that answer `asked` when given (the others cannot be
    evidence). Every sentence of the first `embedded` passages is a candidate anyway."""
    pool = _pool(question, hits, scorer)
    ranked = []
    for n, hit, s in pool.sentences:
        if n > embedded and pool.words & s.words:
            if asked is not None and not _answers(asked, names or Names(), hit, s, hit.text[s.start : s.end]):
                continue
            w = pool.weights(hit, scorer)
            ranked.append((sum(w[x] for x in pool.words & s.words) / (sum(w.values()) or 1.0), n, hit, s))
    ranked.sort(key=lambda r: (-r[0], r[1], r[3].start))
    out: dict[str, list[tuple[int, int]]] = {}
    for _share, _n, hit, s in ranked[:deep]:
        out.setdefault(hit.chunk_id, []).append((s.start, s.end))
    return out


def select(
    question: str,
    question_vector: np.ndarray,
    hits: Sequence[Hit],
    sentences: SentenceVectors,
    *,
    limit: int = 3,
    scorer: Scorer = DEFAULT_SCORER,
    asked: Asked | None = None,
    names: Names | None = None,
) -> tuple[Evidence, ...]:
    """The `limit` best evidence sentences over `hits` (numbered [1..] in that order), best first,
    among the sentences that have vectors in `sentences`.

    With `asked`, only sentences that answer it are evidence: they state the kind of answer asked
    for about the asked thing (citeqa.answer.stated.answers), come from a passage about the names
    it asks about (`names`, where the index mentions them), and were not the answer to the
    question a follow-up follows. A sentence repeated in two passages (chunks overlap) is kept
    once, from the higher-ranked one."""
    pool = _pool(question, hits, scorer)
    cosines: dict[tuple[str, int, int], float] = {}
    for cid, (spans, vectors) in sentences.items():
        for (s, e), c in zip(spans, (vectors @ question_vector).tolist() if len(spans) else [], strict=True):
            cosines[(cid, s, e)] = c
    scored: list[Evidence] = []
    on_topic: set[tuple[str, int]] = set()  # sentences with a word of the question
    weights: dict[str, dict[str, float]] = {}
    for n, hit, sent in pool.sentences:
        cos = cosines.get((hit.chunk_id, sent.start, sent.end))
        if cos is None:
            continue
        w = weights.get(hit.source) or weights.setdefault(hit.source, pool.weights(hit, scorer))
        total = sum(w.values()) or 1.0
        score = cos - scorer.rank * (n - 1) - (scorer.label if sent.label else 0.0)
        score += scorer.lexical * sum(w[x] for x in pool.words & sent.words) / total
        score += scorer.neighbour * sum(w[x] for x in (pool.words & sent.near) - sent.words) / total
        score += scorer.number if pool.quantity and sent.number else 0.0
        quote = hit.text[sent.start : sent.end]
        if asked is not None:
            if not _answers(asked, names or Names(), hit, sent, quote):
                continue
            if asked.previous_answer and beside_previous(asked, _beside(hit.text, sent.start, sent.end, 2)):
                score += scorer.beside_previous
            if asked.kind == "quantity" and sent.row and _row_of(asked, quote):
                score += scorer.named_row
            if asked.kind == "other" and asked.focus & sent.words:
                score += scorer.asked_thing
        scored.append(Evidence(n=n, hit=hit, start=sent.start, end=sent.end, quote=quote, score=score))
        if pool.words & sent.words:
            on_topic.add((hit.chunk_id, sent.start))
    scored.sort(key=lambda ev: -ev.score)
    out: list[Evidence] = []
    seen: set[str] = set()
    for found in scored:
        key = " ".join(found.quote.split()).casefold()
        if key in seen or (out and (found.hit.chunk_id, found.start) not in on_topic):
            continue
        # "That command is now removed." is shown with the sentence it points back to, where that
        # is not quoted already; a line of a list already quoted with the sentence that introduces
        # it, or that sentence, is not quoted again
        free = (e for e in (with_antecedent(found), found) if not any(o.hit.chunk_id == e.hit.chunk_id and o.start < e.end and e.start < o.end for o in out))
        if (ev := next(free, None)) is None:
            continue
        seen.add(key)
        out.append(ev)
        if len(out) == limit:
            break
    return tuple(out)


def _answers(asked: Asked, names: Names, hit: Hit, sent: _Sentence, quote: str) -> bool:
    # A caption names what a table or figure holds ("Top-1 error (%, 10-crop testing) on ImageNet
    # validation."): the value asked for is in its rows, never in the caption, nor in the line of
    # column headers ("Model | Steps to | 72.2% | Max accuracy"). (A short line without a full
    # stop may be a slide's bullet, "Average charging time fell to 41 minutes".)
    if (sent.caption or is_header_line(quote)) and asked.kind in ("quantity", "date"):
        return False
    if sent.label and is_title(quote):
        return False  # a heading names a topic, it answers nothing: "Deeper Bottleneck Architectures."
    return (
        # a table row is read with its caption and headers (its passage before it: "Table 2.
        # Top-1 error (%) on ImageNet validation. | plain | ResNet"): they say what its cells
        # measure ("18 layers: plain 27.94 · ResNet 27.88")
        (answers(asked, quote, hit.text[: sent.start], row=True) if sent.row else answers(asked, quote, _beside(hit.text, sent.start, sent.end)))
        and names.about(asked.names, hit, quote, all_near=asked_version(asked.measure) is not None)
        and not other_size(asked.names, asked.question, quote, value=asked.kind in ("quantity", "date"))
        and not (asked.kind in ("quantity", "date") and opens_with_other(asked.names, quote))
        # "This model has 3.8 billion FLOPs." is the 50-layer ResNet of the sentence before it
        and not (_ANAPHOR.match(quote) and other_size(asked.names, asked.question, _beside(hit.text, sent.start, sent.end, 2, after=False), value=True))
        and not repeats(asked, quote)
        and states_version(asked.measure, quote)
        and not (asked.kind == "quantity" and only_given_versions(asked.measure, quote))
        # a release's heading answers for the changes listed under it, not for its neighbours'
        and not (asked_version(asked.measure) and (entry := entry_at(hit.text, sent.start)) is not None and not all(mentions(n, entry) for n in asked.names if not n.context))
        and (asked_version(asked.measure) is None or has_terms(asked.measure, quote))
        and not other_version(asked.question, quote)
        and not other_entry(asked.question, hit.text, sent.start, sent.end)
        and states_code(asked.question, quote)
        and states_path(asked.question, quote)
        and names_someone(asked.question, quote)
        # the window is built only for a question that quotes literal text (most quote none)
        and (not quoted(asked.question) or gives_quoted(asked.question, f"{_beside(hit.text, sent.start, sent.end, 2)} {quote}"))
    )


_ANAPHOR = re.compile(r"(?:This|That|These|Those|It|Its|The\s+same)\b")


def _row_of(asked: Asked, quote: str) -> bool:
    """Whether the label of table row `quote` (before its first ": ") names the question's first
    subject name."""
    subject = next((n for n in asked.names if not n.context), None)
    return subject is not None and mentions(subject, row_label(quote))


@functools.lru_cache(maxsize=4096)
def _beside(text: str, start: int, end: int, size: int = 1, *, after: bool = True) -> str:
    """The `size` sentences before and (unless not `after`) after the one at start:end of `text`.
    Before only is what "This model" points back to: "... resulting in a 50-layer ResNet. We use
    option B ... This model has 3.8 billion FLOPs."."""
    spans = sentence_spans(text)
    i = next((k for k, (s, e) in enumerate(spans) if s <= start < e), None)
    if i is None:
        return ""
    return " ".join(text[s:e] for s, e in spans[max(0, i - size) : i + (size + 1 if after else 0)] if (s, e) != spans[i])


def shown_count(
    evidence: Sequence[Evidence], base: int = 2, within: float = THIRD_WITHIN, floor: float = QUOTE_FLOOR
) -> int:
    """How many of the evidence sentences (best first) an answer shows: the best; then up to
    `base` in all, each scoring at least `floor`; and one more when it scores within `within` of
    the best."""
    n = min(1, len(evidence))
    while n < min(base, len(evidence)) and evidence[n].score >= floor:
        n += 1
    if n == base and len(evidence) > n and evidence[n].score >= max(evidence[0].score - within, floor):
        n += 1
    return n


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


def _word_weights(words: frozenset[str], pool: Sequence[frozenset[str]]) -> dict[str, float]:
    """Inverse document frequency of each question word over the candidate sentences: a word that
    every sentence has ("model", the paper's own name) tells them apart less than a rare one."""
    n = len(pool)
    return {w: math.log(1 + n / (1 + sum(1 for sw in pool if w in sw))) for w in words}
