"""Counts a question gives ("with only 5 passages", "of the 658 languages"): like a percentage it
names, such a count sets which result is asked about, so a sentence that answers it states the
count too, or a sentence beside it does."""

from __future__ import annotations

import functools
import re

from citeqa.answer.evidence_text import without_citations

# A year as a table cell or a count would be written: four digits, 1500-2099.
FOUR_DIGIT_YEAR = re.compile(r"(?<![\d.,])(?:1[5-9]\d{2}|20\d{2})(?![\d%]|[.,]\d)")
# A number on its own (not "ResNet-152", "v2", "4.5", "30%"), commas taken out later ("10,000"),
# and the word after it, when there is one.
_COUNT = re.compile(r"(?<![\w.,$£€-])(\d{1,3}(?:,\d{3})+|\d{1,6})(?![\w.,%-]|\s?%)(\s+[a-z]{3,})?")
_NUMBER_NAMES = {
    w: str(i)
    for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"])
}


@functools.lru_cache(maxsize=65536)
def given_counts(question: str) -> frozenset[str]:
    """The counts `question` gives: numbers followed by a lower-case word ("5 passages"), not
    years, nor numbers of names ("GPT 4" is followed by a capital or nothing)."""
    return frozenset(
        m.group(1).replace(",", "")
        for m in _COUNT.finditer(without_citations(question))
        if m.group(2) and not FOUR_DIGIT_YEAR.fullmatch(m.group(1))
    )


@functools.lru_cache(maxsize=65536)
def stated_counts(text: str) -> frozenset[str]:
    """Every number `text` states on its own, in digits or as a word up to twelve ("five passages")."""
    text = without_citations(text)
    words = {_NUMBER_NAMES[w] for w in re.findall(r"[a-z]+", text.casefold()) if w in _NUMBER_NAMES}
    return frozenset(m.group(1).replace(",", "") for m in _COUNT.finditer(text)) | words
