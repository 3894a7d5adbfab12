"""Citation markers, sentences and supporting quotes: pure functions over text."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Sequence

from citeqa.answer.prompt import NOT_IN_DOCS
from citeqa.core.sentences import REFERENCE, sentence_spans, split_sentences

ScoreFn = Callable[[str, Sequence[str]], list[float]]

# [1], [2, 3], [2-4]; several in a row ([1][2]) are separate matches. The splitter keeps such
# references with the sentence they follow, so the pattern lives with it.
MARKER = REFERENCE
# The lookbehind starts a match only where a run of blanks starts (the leftmost match does anyway):
# without it, a long run of blanks is scanned again from each of its positions (quadratic).
_MARKER_WITH_SPACE = re.compile(r"(?<![ \t])[ \t]*" + MARKER.pattern)
_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*")

_STOPWORD_TEXT = """a an the and or but if then of in on at to for from by with without as is are was were be been being
    it its this that these those there here which who whom whose what when where why how do does did done
    has have had not no nor so than too very can could should would may might must will shall i you he she we
    they me him her us them my your his our their also into about over under after before between during
    such only both each other any all some more most same just up out per via"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def _numbers(group: str) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*(?:,|;|\band\b)\s*", group.strip()):
        span = re.fullmatch(r"(\d+)\s*[-–]\s*(\d+)", part)
        if span:
            lo, hi = int(span[1]), int(span[2])
            # A range like [2-4]; an absurd one ([1-900]) is kept as its two ends.
            out.extend(range(lo, hi + 1) if 0 <= hi - lo <= 20 else (lo, hi))
        elif part.isdigit():
            out.append(int(part))
    return out


def parse_markers(text: str) -> list[int]:
    """Cited passage numbers in order of first appearance, without repeats."""
    seen: dict[int, None] = {}
    for m in MARKER.finditer(text):
        for n in _numbers(m.group(1)):
            seen.setdefault(n, None)
    return list(seen)


def remove_markers(text: str) -> str:
    return _MARKER_WITH_SPACE.sub("", text).strip()


def strip_invalid(text: str, n_sources: int) -> tuple[str, int]:
    """`text` without marker numbers outside 1..n_sources, and how many were removed."""
    removed = 0

    def fix(m: re.Match[str]) -> str:
        nonlocal removed
        numbers = _numbers(m.group(1))
        valid = list(dict.fromkeys(n for n in numbers if 1 <= n <= n_sources))
        removed += len(numbers) - len([n for n in numbers if 1 <= n <= n_sources])
        if len(valid) == len(numbers):
            return m.group(0)
        if not valid:
            return ""
        lead = m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip(" \t"))]
        return f"{lead}[{', '.join(map(str, valid))}]"

    return _MARKER_WITH_SPACE.sub(fix, text), removed


def _tokens(text: str) -> set[str]:
    out = set()
    for w in _WORD.findall(remove_markers(text).lower()):
        if w in _STOPWORDS:
            continue
        # Crude plural folding: "layers" supports "layer".
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss") and not w[-2].isdigit():
            w = w[:-1]
        out.add(w)
    return out


_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_ENUMERATOR = re.compile(r"^\s*(?:[-*•]\s*)?\d{1,2}[.)]\s+")


def numbers_in(text: str) -> set[str]:
    """Numbers written in `text` (markers excluded), "1,204" and "1204" alike."""
    text = _ENUMERATOR.sub("", remove_markers(text))  # "2. The tower ..." is a list item, not a 2
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


@functools.lru_cache(maxsize=16384)
def content_word_set(text: str) -> frozenset[str]:
    """The words of `text` that carry content: no stop words, markers or punctuation, plurals folded."""
    return frozenset(_tokens(text))


def lexical_scores(claim: str, candidates: Sequence[str]) -> list[float]:
    """Share of the claim's content words found in each candidate (0..1)."""
    want = _tokens(claim)
    if not want:
        return [0.0 for _ in candidates]
    return [len(want & _tokens(c)) / len(want) for c in candidates]


def quote_candidates(passage: str) -> tuple[list[tuple[int, int]], int]:
    """Spans of single sentences, then of adjacent pairs (claims often draw on two), and the number of singles."""
    singles = sentence_spans(passage)
    return singles + _pairs(singles), len(singles)


def _pairs(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [(a[0], b[1]) for a, b in itertools.pairwise(spans)]


def best_quote(
    claim: str, passage: str, score_fn: ScoreFn = lexical_scores, *, pair_margin: float = 0.05
) -> str:
    """The sentence(s) of `passage` that best support `claim`, as a verbatim substring of it."""
    quote, _ = best_quote_scored(claim, passage, score_fn, pair_margin=pair_margin)
    return quote


def best_quote_scored(
    claim: str, passage: str, score_fn: ScoreFn = lexical_scores, *, pair_margin: float = 0.05
) -> tuple[str, float]:
    spans, n_single = quote_candidates(passage)
    if not spans:
        return passage.strip(), 0.0
    return pick_quote(
        passage, spans, n_single, score_fn(claim, [passage[s:e] for s, e in spans]), pair_margin
    )


def pick_quote(
    passage: str,
    spans: Sequence[tuple[int, int]],
    n_single: int,
    scores: Sequence[float],
    pair_margin: float = 0.05,
) -> tuple[str, float]:
    """Choose among `quote_candidates` spans (singles first, then `n_single`.. pairs) by score."""
    best = max(range(n_single), key=lambda i: scores[i])
    if n_single < len(spans):
        pair = max(range(n_single, len(spans)), key=lambda i: scores[i])
        # A pair is longer to read; it must support the claim clearly better than one sentence.
        if scores[pair] > scores[best] + pair_margin:
            best = pair
    s, e = spans[best]
    return passage[s:e], float(scores[best])


_PLACES = r"(?:context|passages?|documents?|texts?|sources?|excerpts?)"
# Ways a model says the passages lack the answer; matched against the answer's first sentence.
_ABSTAIN = re.compile(
    rf"""
    \b(?:{_PLACES}|information\ provided|provided\ information)\b
        [^.]*?\b(?:do(?:es)?|did)\s*(?:not|n[o'’]t)\s+(?:contain|mention|include|say|provide|specify|state|discuss|cover|give|answer)
    | \bdo(?:es)?\s*(?:not|n[o'’]t)\s+(?:contain|include|provide|mention)\s+(?:the\ answer|an\ answer|any|this|that|such|information|enough)
    | \bnot\s+mentioned\b
    | \bnot\s+(?:explicitly\s+)?(?:specified|stated|provided|given|discussed|covered|addressed)\b
        (?=\s*(?:anywhere\s+)?(?:(?:in|by|within)\s+(?:the\s+|these\s+|any\s+)?(?:given\s+|provided\s+)?{_PLACES}\b|[.!]?\s*$))
    | \bno\s+(?:relevant\s+|specific\s+)?(?:information|mention)\b
    | \b(?:can\s*not|can[’']?t|could\s*(?:not|n[’']?t)|unable\s+to|am\s+not\s+able\s+to)\s+(?:find|locate|determine|answer|tell)\b
    | \bi\s+do\s*(?:not|n[’']?t)\s+know\b
    | \b(?:not\s+enough|insufficient)\s+information\b
    """,
    re.IGNORECASE | re.VERBOSE,
)


def looks_abstained(answer_text: str) -> bool:
    """Whether the answer says that the passages do not contain the answer.

    Only the first sentence counts, so an answer that states facts and then notes what
    is missing ("... The passages do not mention its cost.") is not an abstention; nor
    is a first sentence that cites a passage, unless it is NOT_IN_DOCS itself.
    """
    sentences = split_sentences(answer_text.strip())
    if not sentences:
        return False
    first = remove_markers(sentences[0]).strip(" \"'“”*")
    if NOT_IN_DOCS.rstrip(".").lower() in first.lower():
        return True
    return not MARKER.search(sentences[0]) and bool(_ABSTAIN.search(first))
