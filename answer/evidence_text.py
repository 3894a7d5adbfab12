"""What evidence selection reads in a question and a sentence: stemmed content words, whether the
question asks for a quantity and the sentence states one, and sentences that label a figure or
table rather than state something. Pure functions over text, cached."""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
from collections.abc import Mapping
from pathlib import PurePath

import snowballstemmer

from citeqa.answer.citations import content_word_set
from citeqa.core.sentences import TABLE_ROW, sentence_spans
from citeqa.core.types import Evidence

_HYPHENATED = re.compile(r"\w+(?:-\w+)+")
_local = threading.local()  # a snowball stemmer keeps state while it stems: one per thread


def _stemmer() -> snowballstemmer.stemmer:
    if not hasattr(_local, "stemmer"):
        _local.stemmer = snowballstemmer.stemmer("english")
    return _local.stemmer


@functools.lru_cache(maxsize=65536)
def stems(text: str) -> frozenset[str]:
    """The content words of `text` (citeqa.answer.citations.content_word_set), Snowball-stemmed so
    that "retrieval" meets "retrieved" and "decay" meets "decayed"."""
    return frozenset(_stemmer().stemWords(sorted(content_word_set(text))))


@functools.lru_cache(maxsize=4096)
def compound_share(question: str) -> Mapping[str, float]:
    """For each stemmed word of a hyphenated name in `question` ("Fusion-in-Decoder": fusion,
    decod), the share of one word's weight it gets (1/2 each), so that the name counts as one
    concept. Words outside such names are left out (their share is 1). Cached: read only."""
    share: dict[str, float] = {}
    for name in _HYPHENATED.findall(question):
        parts = stems(name.replace("-", " "))
        for w in parts:
            share.setdefault(w, 1.0 / len(parts))
    return share


@functools.lru_cache(maxsize=1024)
def topic_stems(source: str) -> frozenset[str]:
    """The words of a file's name ("aurora_lake_field_station.pdf"): its topic."""
    return stems(re.sub(r"[_\-.]+", " ", PurePath(source).stem))


# Questions answered by a quantity or a time, after the numeric answer types of Li & Roth's question
# taxonomy (count, date, distance, money, percent, period, size, speed, temperature, weight).
_QUANTITY = re.compile(
    r"\b(?:how\s+(?:many|much|long|big|large|fast|old|far|deep|wide|tall|high|often|heavy|small|short|quickly|soon)"
    r"|when|(?:what|which)\s+(?:year|percentage|percent|proportion|fraction|share|number|amount|value|size|rate"
    r"|age|temperature|speed|distance|length|date|time|day|month|century|decade|period|price|cost))\b",
    re.IGNORECASE,
)
# Numbers that are not the sentence's own: reference marks ([3], [2, 5]) and author-year citations
# ("Kingma et al., 2014", "(Raffel et al., 2019)"), which papers put in sentences of every kind.
_CITATION = re.compile(
    r"\[\s*\d{1,3}(?:\s*[,;–-]\s*\d{1,3})*\s*\]"
    r"|\b[A-Z][\w-]+ et al\.,? \(?(?:19|20)\d\d[a-z]?\)?"
    r"|\([A-Z][^()]{0,80}?,\s*(?:19|20)\d\d[a-z]?\)"
)
_DIGIT = re.compile(r"\d")
# A figure or table caption ("Figure 3: Performance of ...", "Table 2. Error rates ...", or after
# axis labels that PDF extraction ran into it: "Steps to match Inception Figure 2: Single crop ..."),
# and a run of four or more bare numbers (axis ticks, a table row run into the text).
# A figure's caption also says where in it to look: "Training error (left) and test error (right)".
_CAPTION = re.compile(
    r"^\s*(?:Figure|Fig\.|Table|Tab\.)\s*\d+[.:]|\b(?:Figure|Fig\.|Table|Tab\.)\s*\d+:"
    r"|\((?:left|right|top|bottom|middle)\)",
    re.IGNORECASE,
)
_NUMBER_RUN = re.compile(r"(?:[-+]?\d+(?:\.\d+)?%?\s+){4}")


@functools.lru_cache(maxsize=4096)
def asks_quantity(question: str) -> bool:
    return bool(_QUANTITY.search(question))


@functools.lru_cache(maxsize=65536)
def states_number(sentence: str) -> bool:
    return bool(_DIGIT.search(without_citations(sentence)))


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@functools.lru_cache(maxsize=65536)
def numbers(text: str) -> frozenset[str]:
    """The numbers written in digits in `text`, "ResNet-152" and "top-5" included: what a table
    row's passage must have of a question's ("With 25 training passages ...": the row of 25)."""
    return frozenset(_NUMBER.findall(text))


def without_citations(sentence: str) -> str:
    """`sentence` without its reference marks and author-year citations."""
    return _CITATION.sub(" ", sentence)


@functools.lru_cache(maxsize=65536)
def is_label(sentence: str) -> bool:
    """A heading, a figure or table caption, or a run of bare numbers: text that names a topic or
    plots it, and so shares the question's words without answering it."""
    if TABLE_ROW.fullmatch(sentence.strip()):
        return False  # a table's row with its headers states its values (citeqa.core.tables)
    return is_heading(sentence) or is_caption(sentence)


def is_caption(sentence: str) -> bool:
    """A figure or table caption, a Markdown heading or a run of bare numbers: it labels or plots
    what is elsewhere, and states no value of its own."""
    return _MARKDOWN_HEADING.match(sentence.lstrip()) is not None or bool(_CAPTION.search(sentence) or _NUMBER_RUN.search(sentence + " "))


_TERMINAL = tuple(".!?:;)\"'”’]")


def is_heading(sentence: str) -> bool:
    """A title or heading rather than a statement: a Markdown heading, or a short line with no
    closing punctuation ("Aurora Lake Field Station: Annual Report 2023"). Titles repeat the
    question's words without answering it."""
    text = sentence.strip()
    return is_title(text) or (len(text.split()) <= 8 and not text.endswith(_TERMINAL))


def is_title(sentence: str) -> bool:
    """A Markdown heading, a paper's run-in heading or a table of contents' entry: a title, never an answer. (A short line with
    no full stop is a heading to `is_heading`, but may be a slide's bullet that states a value:
    "The fleet grew to 214 electric vans in Q3".)"""
    text = sentence.strip()
    return _MARKDOWN_HEADING.match(text) is not None or _RUN_IN.fullmatch(text) is not None or _LEADERS.search(text) is not None


# A table of contents' entry: a title, dot leaders, a page number ("20 asn1_der_decoding2 . . . . 21").
_LEADERS = re.compile(r"(?:\.\s?){5,}\s*\d{0,4}\s*$")


# "# Warranty", "## 2. Setup"; not "#P is the class of counting problems".
_MARKDOWN_HEADING = re.compile(r"#{1,6}\s")
# A paper's run-in heading, split from its paragraph: "Deeper Bottleneck Architectures.", "Identity
# vs. Projection Shortcuts." (every word capitalised but short function words; at most six words).
_RUN_IN = re.compile(r"[A-Z][\w-]*(?:\s+(?:[A-Z][\w-]*|vs\.|of|and|for|the|in|on|with|to|a)){1,5}\.")


def window(ev: Evidence, size: int = 1) -> tuple[int, int]:
    """Offsets of the evidence (a sentence, or one with the sentence it points back to) with up
    to `size` sentences on each side, in its passage."""
    spans = sentence_spans(ev.hit.text)
    inside = [k for k, (s, e) in enumerate(spans) if s <= ev.start < e or (s >= ev.start and e <= ev.end)]
    if not inside:
        return ev.start, ev.end
    lo, hi = max(0, inside[0] - size), min(len(spans) - 1, inside[-1] + size)
    return min(spans[lo][0], ev.start), max(spans[hi][1], ev.end)


# A sentence that opens by pointing back to a thing named before it ("That command is now
# removed.", "This model has 3.8 billion FLOPs."): alone it does not say what it is about. (Not
# "It ...": shown with the sentence before it, a quote changes what a follow-up searches for, and
# on the tuning sets that lost an answer to gain none.)
_POINTS_BACK = re.compile(r"(?:This|That|These|Those)\s+[a-z]{2,20}\b")
MAX_ANTECEDENT = 300  # characters: a longer sentence before it is shown as it is, not added


def with_antecedent(ev: Evidence) -> Evidence:
    """`ev` with the sentence before it in its passage, when it opens by pointing back to it (not a
    table's row, nor a sentence after a heading or a row)."""
    if not _POINTS_BACK.match(ev.quote):
        return ev
    spans = sentence_spans(ev.hit.text)
    i = next((k for k, (s, _) in enumerate(spans) if s == ev.start), None)
    if not i:
        return ev
    start, end = spans[i - 1]
    before = ev.hit.text[start:end]
    if end - start > MAX_ANTECEDENT or TABLE_ROW.fullmatch(before) or not before.rstrip().endswith((".", ":", ";")):
        return ev
    return dataclasses.replace(ev, start=start, quote=ev.hit.text[start : ev.end])
