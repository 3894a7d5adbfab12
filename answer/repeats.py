"""A follow-up's answer is not the previous answer again: "And for ResNet-152?" after ResNet-50's
error asks for another sentence than the one quoted, unless that sentence answers both."""

from __future__ import annotations

from citeqa.answer.asked import Asked, normalised
from citeqa.answer.evidence_text import stems
from citeqa.answer.mentions import mentions
from citeqa.answer.stated import states, stems_of


def beside_previous(what: Asked, near: str) -> bool:
    """Whether a sentence stands beside one quoted in the previous answer ("And when was that
    measured?": the sentence before "... maximum depth as 47 metres" says "The 2023 sonar survey
    mapped the whole basin")."""
    quotes = what.previous_quotes
    near = normalised(near)
    return bool(quotes) and any(q in near for q in quotes)


def repeats(what: Asked, sentence: str) -> bool:
    """Whether `sentence` was already the answer to the question a follow-up follows: asked again,
    it would answer the previous question, not this one. Unless the follow-up only names a new
    thing and the sentence has most of the words that name it ("And epsilon?" after beta1: "... β1 =
    0.9, β2 = 0.999 and ϵ = 10−8" answers both; "And with multi-crop testing?" is not answered by
    the single-crop row, which has only "crop"), or asks a new kind of answer that the sentence states."""
    named = what.focus - _PRONOUN_STEMS  # "And the large one?": "large"
    if not what.previous_answer or (what.also and 2 * len(named & stems_of(sentence)) > len(named)):
        return False
    if what.swapped_in is not None and mentions(what.swapped_in, sentence):
        return False  # "... +24.8 (81.6 vs. 56.8) on GSM8k, and +9.2 (22.7 vs. 13.5) on MATH" for "And on MATH?"
    new = what.focus - what.previous_focus
    if what.measured and new and new & stems_of(sentence):
        # "And what momentum?" after the weight decay: "We use a weight decay of 0.0001 and a
        # momentum of 0.9" answers both.
        return False
    if what.previous_kind is not None and what.previous_kind != what.kind and states(what.kind, sentence):
        # "Since when?" after "Who is the station director?": the quoted "... director is Dr.
        # Ingrid Valtonen, who has led the station since 2016" answers the new kind of question.
        return False
    if what.measured and _new_words(what) & stems_of(sentence):
        # "What context window does its base model training start with?" after "What context
        # window is StarCoder2 fine-tuned with?": the quoted "We start base model training with a
        # 4k context window and subsequently fine-tune ... with a 16k context window" answers both
        return False
    return normalised(sentence) in what.previous_text


def _new_words(what: Asked) -> frozenset[str]:
    """The words of a follow-up's own question that the question before it did not have."""
    before = what.question[: len(what.question) - len(what.measured)]
    return frozenset(stems(what.measured) - stems(before) - _PRONOUN_STEMS)


_PRONOUN_STEMS = frozenset(stems("it its they them their this that these those one ones"))
