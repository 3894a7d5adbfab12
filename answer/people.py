"""Questions for the person who made something ("Who is the original author of GNU bc?", "Who
wrote the paper?"): a sentence answers one only if it names someone, a capitalised name other than
the question's own words ("... written by Philip A. Nelson"). Pure functions over text."""

from __future__ import annotations

import functools
import re

_ASKS_MAKER = re.compile(
    r"^\s*(?:and\s+)?who(?:m|se)?\b.{0,80}?\b(?:authors?|authored|authorship|wr[io]te|written|creat\w*|invent\w*|develop\w*|design\w*"
    r"|found(?:ed|er)|maintain\w*|made|built|discover\w*|proposed|introduced)\b",
    re.IGNORECASE,
)
# A capitalised word that is not all capitals ("Nelson", "Kingma"; not "GNU", "BSD").
_CAPITALISED = re.compile(r"\b[A-Z][a-z][\w'’-]*")
# Words a document's own structure is capitalised with: "Table of Contents" names no one.
_STRUCTURE = frozenset(
    "table contents chapter section figure index appendix introduction overview abstract references preface summary".split()  # noqa: SIM905
)


def asks_maker(question: str) -> bool:
    """Whether `question` asks who made, wrote or found something."""
    return bool(_ASKS_MAKER.search(question))


@functools.lru_cache(maxsize=65536)
def names_someone(question: str, sentence: str) -> bool:
    """Whether `sentence` answers a question for a maker: it has a capitalised word, past its
    first word, that the question does not. True of questions that ask for no maker."""
    if not asks_maker(question):
        return True
    asked = {w.casefold() for w in re.findall(r"[\w'’-]+", question)}
    words = _CAPITALISED.findall(sentence.strip()[1:])
    return any(w.casefold() not in asked and w.casefold() not in _STRUCTURE for w in words)
