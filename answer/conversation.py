"""Follow-up questions: which need the conversation to be understood, and what to search for.

Deterministic, so it works the same with the 135M demo model as with Llama 2, and never waits
for the chat model before the evidence is out. A question is a follow-up only when it cannot
stand alone: it starts like a continuation ("and ...", "what about ..."), or it points back
("it", "that", "they", ...) before any content word of its own ("What are its default values?",
not "How does Adam compute its update?", where the word points at Adam) or with at most two
content words in all, or it has at most one content word ("many" and "much" ask, they do not
count: "How many FLOPs does it need?" points back). Then it is searched for together with the previous question AND on its own words
(the engine fuses both); a standalone question is searched for exactly as asked, so an
unrelated earlier turn can never change its answer. Earlier answers are never used.
"""

from __future__ import annotations

import re

from citeqa.answer.citations import content_word_set
from citeqa.core.types import History

_CONTINUES = re.compile(r"^\s*(?:and|but|also|so|or|then|what about|how about|and what about)\b", re.I)
_POINTS_BACK = re.compile(
    r"\b(?:it|its|it's|itself|that|this|these|those|they|them|their|theirs|he|him|his|she|her|hers|there|then|the same)\b",
    re.I,
)


# Words that ask ("how many", "how much") rather than name what is asked about.
_ASKING = frozenset({"many", "much"})
# A pronoun as the subject of the question's verb, or its possessive ("How many steps was it trained
# for?", "How many parameters does its large version have?"): it names the thing asked about by
# pointing back, whatever else is said.
_PRONOUN_SUBJECT = re.compile(
    r"\b(?:is|was|are|were|does|did|do|has|have|had|can|could|will|would|should)\s+(?:it|they|he|she|this|that|these|those"
    r"|its|their|his|her)\b",
    re.I,
)


# "it" that points at what follows, in a question that names its subject: "How many GPU hours does
# it cost to train Fusion-in-Decoder?", "How long does it take to charge the Kestrel K2?".
_DUMMY_IT = re.compile(
    r"\b(?:does|did|do|is|was|will|would)\s+it\s+(?:take|cost|need|require)\b[^?]{0,80}?\bto\s+\w+[^?]{0,80}?\s[A-Z][\w-]*[A-Z0-9]",
)


# "the largest one", "the deeper ones": a thing named before. And "the first author", "the
# authors": of the document talked about ("What university is the first author from?"; "the paper"
# alone is any paper: "Which model has the layers that the paper describes as residual?").
_ONE = re.compile(
    r"\bthe\s+(?:\w+\s+)?ones?\b|\bthe\s+(?:(?:first|last|second|lead|corresponding)\s+)?authors?\b",
    re.I,
)


def is_followup(question: str) -> bool:
    words = len(content_word_set(question) - _ASKING)
    pronoun = _PRONOUN_SUBJECT.search(question) and not _DUMMY_IT.search(question)
    if _CONTINUES.match(question) or words <= 1 or pronoun or _ONE.search(question):
        return True
    back = _POINTS_BACK.search(question)
    return back is not None and (words <= 2 or not content_word_set(question[: back.start()]) - _ASKING)


def previous_question(history: History) -> str | None:
    return next((c.strip() for role, c in reversed(list(history)) if role == "user" and c.strip()), None)


def search_queries(question: str, history: History, *, followup: bool | None = None) -> list[str]:
    """What to retrieve with, best first: the previous question joined with a follow-up, then
    the question's own words; a standalone question alone (`followup`: as for
    citeqa.answer.asked.asked)."""
    previous = previous_question(history)
    if previous is None or not (is_followup(question) if followup is None else followup):
        return [question]
    return [f"{previous} {question.strip()}", question]
