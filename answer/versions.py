"""Questions that ask for a version, release or edition ("Since which libtasn1 version ...?",
"Which Python 3 version is the default in Debian 12?"): a sentence answers one only if it states
one the question does not, a number ("3.7", "2024"), or for a release also a name ("bookworm")."""

from __future__ import annotations

import functools
import re

from citeqa.answer.evidence_text import numbers, without_citations
from citeqa.answer.given import FOUR_DIGIT_YEAR

_ASKS = re.compile(
    r"\b(?:which|what)\s+(?:(?!(?:is|was|are|were|did|does|do|has|had|have)\b)[\w.+-]+\s+){0,3}?(version|release|edition)s?\b(?!\s+(?:the|a|an|its|their)\b)"
    r"|\bminimum\s+(?:[\w.+-]+\s+){0,2}?(version|release)\b",
    re.IGNORECASE,
)
# A version as written: "3.7", "4.19.0", a year ("the 2024 edition"), or a number after a name or
# after "version"/"release" ("Debian 11", "Python 3", "version 2"); not "32 bits", "72.2%" or
# "Table 3-1", "December 2008", nor a number run into a name or after a hyphen ("LZMA2", "SHA-3",
# "CIFAR-10": names, not versions), nor one before a hyphen and a word ("Added 64-bit ...").
_MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
_VERSION = re.compile(
    r"(?<![\w.])(\d{1,4}\.\d{1,4}(?:\.\d{1,4}){0,2}|(?:19|20)\d\d)(?![\w.]\d|\s?%)"
    r"|(?<![\w.])(?:(?!(?:Table|Figure|Fig|Section|Chapter|Listing|Step|Appendix|" + _MONTHS + r")\b)[A-Z][\w+-]{0,30}(?<![-\d])\s"
    r"|(?:version|release|v)\s?)(\d{1,4})\b(?![.-]\d)(?![-‐][a-z])"
)
_DATED = re.compile(r"(?<!\d)(?:19|20)\d\d-\d\d-\d\d(?!\d)")
# A release's name: a word in brackets, or a capitalised word next to "release" ("the Debian 11
# release (bullseye)", "the Jessie release").
_RELEASE_NAME = re.compile(r"\(([a-z][a-z-]{2,20})\)|\b([A-Z][a-z]{2,20})\s+release\b|\brelease\s+([A-Z][a-z]{2,20})\b")


@functools.lru_cache(maxsize=4096)
def asked_version(question: str) -> str | None:
    """"version", "release" or "edition" when `question` asks for one; None otherwise."""
    m = _ASKS.search(question)
    return (m.group(1) or m.group(2)).casefold() if m else None


@functools.lru_cache(maxsize=65536)
def states_version(question: str, sentence: str) -> bool:
    """Whether `sentence` states a version, release or edition that `question` does not give."""
    kind = asked_version(question)
    if kind is None:
        return True
    given = _versions(question)
    stated = _versions(_SECTION_NUMBER.sub(r"\1 ", without_citations(sentence))) - given
    if kind == "version" and not _DATED.search(sentence):
        # a bare year ("released in 2008") dates a release and is no version ("Which XZ Utils
        # version ..."); a full date can be one ("the 2023-09-06 version of the dataset")
        stated = {v for v in stated if not FOUR_DIGIT_YEAR.fullmatch(v)}
    if stated:
        return True
    if kind != "release":
        return False
    words = {w.casefold() for w in re.findall(r"[\w-]+", question)}
    names = [next(g for g in m.groups() if g) for m in _RELEASE_NAME.finditer(sentence)]
    # and a capitalised word after a name the question gives: "Debian Stretch"
    for w in set(re.findall(r"\b[A-Z][\w+-]+", question)):
        names += re.findall(rf"\b{re.escape(w)}\s+([A-Z][a-z]{{2,20}})\b", sentence)
    return any(n.casefold() not in words for n in names)


# A section's number where a heading starts ("[Contents] 1.1 Description bc ..."): no version.
_SECTION_NUMBER = re.compile(r"(^|[\]).:;]\s?)\s*\d{1,2}(?:\.\d{1,2}){1,3}\s+(?=[A-Z][a-z]{2,})")


def _versions(text: str) -> set[str]:
    return {a or b for a, b in _VERSION.findall(text)}


# A version the question gives, after a name or "version"/"release": "diffutils 2.8.6", "GCC 12.1".
# (and after a name and "v": "Apache License v2.0" is the license's version)
_GIVEN_VERSION = re.compile(r"(?:\b([A-Za-z][\w+-]{1,30})\sv|\b(version|release|v)\s?|\b([A-Za-z][\w+-]{1,30})\s)(\d{1,4}\.\d{1,4}(?:\.\d{1,4}){0,2})(?![\w.]\d|\s?%)", re.I)


def _given(text: str) -> set[tuple[str, str]]:
    """(what it is a version of, "" for "version"/"release", the version) for each given version."""
    return {((before if before[:1].isupper() else name).casefold(), number) for before, _, name, number in _GIVEN_VERSION.findall(text)}


@functools.lru_cache(maxsize=65536)
def other_version(question: str, sentence: str) -> bool:
    """Whether `sentence` is about another version than the one `question` gives: "release 2.8.7
    (2004-04-13)" does not date diffutils 2.8.6. A version of another product is no other version:
    "Since wget 1.20, which autoconf version ...?" is answered by "autoconf 2.63"."""
    given = _given(question)
    stated = _given(without_citations(sentence))
    if not given or not stated or {v for _, v in given} & {v for _, v in stated}:
        return False
    products = {p for p, _ in given}
    return "" in products or any(p in products or not p for p, _ in stated)


_DOTTED = re.compile(r"(?<![\w.])\d{1,4}(?:\.\d{1,4}){1,3}(?![\w.]\d)")


@functools.lru_cache(maxsize=65536)
def only_given_versions(question: str, sentence: str) -> bool:
    """Whether every number of `sentence` is in a version the question gives: "Changes in Wget
    1.20.3 ** Fixed a buffer overflow vulnerability" states no CVE number for the fix in 1.20.3.
    (Only dotted versions: "How many layers has ResNet-152?" is answered by "152 layers".)"""
    given = numbers(" ".join(_DOTTED.findall(question)))
    return bool(given) and numbers(without_citations(sentence)) <= given
