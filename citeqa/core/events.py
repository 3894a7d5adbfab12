"""What an answer stream reports as it goes (`AnswerStream.events()`), for rich interfaces.

In order: one `EvidenceReady` (as soon as retrieval and evidence selection end, before the chat
model is asked), then while generating any of `Waiting` (place in the model's queue, 1 = next),
`Draft` (raw model text as it comes, for a live view; never the answer itself) and
`SentenceChecked` (each generated sentence once it is complete and support-checked), and last
one `Done` with the final `Answer`.

The answer's text is the concatenation of the `text` of every event, in order: exactly the
pieces that plain iteration of the stream yields, and exactly `Done.answer.text`. Evidence shown
at once is `EvidenceReady.text`; a supported sentence adds its `SentenceChecked.text`; an
unsupported one adds nothing. When the evidence alone is too weak to show, `EvidenceReady.text`
is empty and the whole answer (or the "not in your documents" message) comes in `Done.text`.
"""

from __future__ import annotations

from dataclasses import dataclass

from citeqa.core.types import Answer, Evidence, Hit, Sentence


@dataclass(frozen=True)
class EvidenceReady:
    evidence: tuple[Evidence, ...]  # the quotes shown, best first
    sources: tuple[Hit, ...]  # the retrieved passages, numbered [1..n]
    text: str  # the evidence answer as shown ("" when held back or abstained)


@dataclass(frozen=True)
class Waiting:
    position: int  # place in the chat model's queue, 1 = next


@dataclass(frozen=True)
class Draft:
    text: str  # raw model text, unchecked: for a live view only, never part of the answer's text


@dataclass(frozen=True)
class SentenceChecked:
    sentence: Sentence  # a generated sentence and whether its cited passages support it
    text: str  # what it adds to the answer's text ("" when unsupported)


@dataclass(frozen=True)
class Done:
    answer: Answer
    text: str  # the rest of the answer's text (a note, or the whole answer when it was held back)


Event = EvidenceReady | Waiting | Draft | SentenceChecked | Done


def text_of(event: Event) -> str:
    """What `event` adds to the answer's text."""
    return "" if isinstance(event, Waiting | Draft) else event.text
