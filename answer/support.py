"""Is a generated sentence supported by the passages it cites? A strict check.

A sentence is supported when some sentence of a cited passage (or two adjacent ones) has
- at least `min_words` of the claim's content words (stop words, markers and punctuation aside),
- every number the claim states,
- an embedding cosine with the claim of at least `min_similarity`.
A sentence that cites nothing is checked against each passage the model was given (`given`); when
one supports it, citeqa adds that passage's marker (`Sentence.attributed`), so that the user can
check it like any other. Small models often copy a sentence of the evidence without a marker; the
answer would otherwise strike a sentence the documents state word for word. File names and page
references the model writes are removed before anything else, since sources are only ever named
from the passages themselves.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from citeqa.answer.citations import (
    ScoreFn,
    content_word_set,
    lexical_scores,
    numbers_in,
    parse_markers,
    remove_markers,
)
from citeqa.core.sentences import sentence_spans
from citeqa.core.types import Hit, Sentence

# "report.pdf", "(notes.md, p. 3)", "page 7", "p. 12": a model inventing where its claim is from.
_FILE = re.compile(
    r"\(?\b[\w\-.]+\.(?:pdf|md|markdown|txt|docx?|pptx?|html?|csv|json)\b(?:,?\s*(?:p\.|pp\.|page)\s*\d+)?\)?",
    re.I,
)
_PAGE = re.compile(r"\(?\b(?:on\s+)?(?:page|p\.|pp\.)\s*\d+(?:\s*[-–]\s*\d+)?\)?", re.I)
_SPACES = re.compile(r"[ \t]{2,}")
_SPACE_PUNCT = re.compile(r"\s+([.,;:!?])")


def strip_places(text: str) -> str:
    """`text` without file names and page references."""
    out = _PAGE.sub("", _FILE.sub("", text))
    return _SPACE_PUNCT.sub(r"\1", _SPACES.sub(" ", out)).strip()


@dataclass(frozen=True)
class SupportCheck:
    """`similarity(claim, candidates)` is the embedding cosine (the engine passes the embedder's);
    by default lexical overlap stands in for it."""

    similarity: ScoreFn = lexical_scores
    min_words: float = 0.8
    min_similarity: float = 0.6

    def check(self, text: str, sources: Sequence[Hit], given: Sequence[int] = ()) -> Sentence:
        """`text` (one generated sentence, markers already valid for `sources`) checked; if it
        cites nothing, against each of the passages `given` (numbers among `sources`)."""
        cites = tuple(n for n in parse_markers(text) if 1 <= n <= len(sources))
        if cites:
            return self._against(text, cites, sources)
        tried = (self._against(text, (n,), sources) for n in dict.fromkeys(given) if 1 <= n <= len(sources))
        best = max((s for s in tried if s.supported), key=lambda s: s.score, default=None)
        if best is None:
            return Sentence(text, (), False, 0.0)
        return Sentence(
            with_marker(text, best.citations[0]), best.citations, True, best.score, attributed=True
        )

    def _against(self, text: str, cites: tuple[int, ...], sources: Sequence[Hit]) -> Sentence:
        claim = remove_markers(text)
        want = content_word_set(claim)
        if not want:
            return Sentence(text, cites, False, 0.0)
        numbers = numbers_in(claim)
        candidates = [
            c
            for n in cites
            for c in _candidates(sources[n - 1].text)
            if len(want & content_word_set(c)) / len(want) >= self.min_words and numbers <= numbers_in(c)
        ]
        if not candidates:
            return Sentence(text, cites, False, 0.0)
        score = max(self.similarity(claim, candidates))
        return Sentence(text, cites, score >= self.min_similarity, float(score))


def with_marker(text: str, n: int) -> str:
    """`text` with "[n]" before its closing punctuation: "Depth was 47 m [2]." """
    body = text.rstrip()
    end = len(body.rstrip(".!?…\"”'"))
    return f"{body[:end]} [{n}]{body[end:]}"


def _candidates(passage: str) -> list[str]:
    """Single sentences of a passage, then adjacent pairs (a claim often draws on two)."""
    spans = sentence_spans(passage)
    pairs = [(a[0], b[1]) for a, b in itertools.pairwise(spans)]
    return [passage[s:e] for s, e in spans + pairs]
