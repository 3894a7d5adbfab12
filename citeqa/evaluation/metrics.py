"""Pure retrieval and answer metrics over hits and gold answers.

A retrieved passage is a *hit* when it comes from the question's source file (compared by file
name, so the folder does not matter) and contains one of the answers, ignoring case and runs of
whitespace.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import PurePath

from citeqa.core.types import Hit, Sentence
from citeqa.questions import Question

MAX_WRONG_ABSTENTION = 0.05
_WS = re.compile(r"\s+")


def normalize(text: str) -> str:
    return _WS.sub(" ", text.casefold()).strip()


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    norm = normalize(text)
    return any(a and a in norm for a in (normalize(x) for x in answers))


def same_file(path: str, gold: str | None) -> bool:
    """True when `path` (as stored: absolute) names the gold file; compared by file name only."""
    return gold is None or PurePath(path).name == PurePath(gold).name


def is_hit(hit: Hit, q: Question) -> bool:
    return same_file(hit.source, q.source) and contains_answer(hit.text, q.answers)


def unsupported_shown(written: str, sentences: Sequence[Sentence]) -> int:
    """How many of the generated `sentences` that failed the support check appear in `written`
    (the generated part of an answer's text) outside the supported ones: a sentence the model cut
    off while repeating a supported one is a piece of it, not shown on its own."""
    rest = written
    for s in sentences:
        if s.supported:
            rest = rest.replace(s.text, "\n")
    return sum(1 for s in sentences if not s.supported and s.text in rest)


def first_hit_rank(hits: Sequence[Hit], q: Question) -> int | None:
    """1-based rank of the first hit that answers `q`, or None."""
    return next((i for i, h in enumerate(hits, 1) if is_hit(h, q)), None)


def hit_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions with an answering passage among the first k (ranks from first_hit_rank)."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 / r for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def abstention_rate(relevances: Sequence[float], threshold: float) -> float | None:
    """Share of questions whose relevance falls below the threshold (None: no questions)."""
    return sum(1 for r in relevances if r < threshold) / len(relevances) if relevances else None


def calibrate(
    answerable_relevances: Sequence[float], max_wrong: float = MAX_WRONG_ABSTENTION
) -> float | None:
    """The highest threshold (to 3 decimals, rounded down) that abstains on at most `max_wrong`
    of the answerable questions: the most abstention the documents can afford."""
    if not answerable_relevances:
        return None
    ordered = sorted(answerable_relevances)
    allowed = math.floor(max_wrong * len(ordered))
    # Exactly `allowed` values lie strictly below ordered[allowed] (fewer with ties).
    edge = ordered[allowed]
    return math.floor(edge * 1000) / 1000 if math.isfinite(edge) else None
