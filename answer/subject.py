"""Which of a question's names is its subject, and which only say where or by whom it is
measured. "What GSM8k pass@1 does GPT-4 reach according to the WizardMath paper?" asks about
GPT-4: GSM8k is written inside the asked measure (as "pass@1 on GSM8k" would be) and WizardMath
is the source it is asked of, so a sentence about WizardMath's pass@1 on GSM8k is about another
subject. Pure functions over the question's text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from citeqa.answer.mentions import Name

_AUX = r"(?:do|does|did|is|are|was|were|has|have|had|can|could|will|would)"
# "What|Which <the measure, a few words> <auxiliary verb> <the rest>"
_MEASURE_FIRST = re.compile(rf"^\s*(?:what|which)\s+((?:(?!{_AUX}\b)[^\s?]+\s+){{1,5}}?){_AUX}\s+(.+)$", re.IGNORECASE)
_SOURCE = re.compile(r"\baccording\s+to\s+(?:the\s+)?(.+)$", re.IGNORECASE)


def _within(name: Name, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name.text)}(?![\w-])", text) is not None


def with_subject(question: str, found: Sequence[Name]) -> tuple[Name, ...]:
    """`found` (the question's names in order), with a name written inside the asked measure, or
    after "according to", made a name of the context, when another name is left as the subject."""
    measure, rest = "", question
    if m := _MEASURE_FIRST.match(question):
        measure, rest = m.group(1), m.group(2)
    source = m.group(1) if (m := _SOURCE.search(rest)) else ""
    side = [
        not n.context and not n.text[:1].islower() and ((_within(n, measure) and not _within(n, rest)) or (bool(source) and _within(n, source)))
        for n in found
    ]
    if not any(side) or all(n.context or s for n, s in zip(found, side, strict=True)):
        return tuple(found)
    return tuple(replace(n, context=True) if s else n for n, s in zip(found, side, strict=True))
