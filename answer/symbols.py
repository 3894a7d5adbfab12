"""Symbols a document defines ("Require: α: Stepsize", "the learning rate η", "stepsize α"), so
that a question in words ("What default step size does AdaMax use?") meets the sentence that
gives the value in symbols ("Good default settings ... are α = 0.002, β1 = 0.9 and β2 = 0.999").
Papers name a hyperparameter once and give its value by symbol from then on. Pure functions over
text; every pattern has bounded repetitions (linear in its input).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# A Greek letter with an optional index ("β1", "αt"), as papers print them.
_SYMBOL = r"([α-ωϵϑϕ][0-9]?)"
# "α: Stepsize", "η is the learning rate", "λ denotes the weight decay"
_DEFINED_AFTER = re.compile(
    _SYMBOL + r"[a-z]?\s{0,2}(?::|\bis\s+the\b|\bdenotes(?:\s+the)?\b)\s{0,2}([A-Za-z][\w-]{1,30}(?:\s[a-z][\w-]{1,30}){0,2})"
)
# "stepsize α", "the learning rate αt", "step size (α)"
_DEFINED_BEFORE = re.compile(r"\b([A-Za-z][\w-]{1,30}(?:\s[a-z][\w-]{1,30})?)\s{1,2}\(?" + _SYMBOL + r"(?![α-ω])")
# Words that join a symbol to a sentence without defining it ("settings are α", "with α").
_NOT_DEFINING = frozenset(
    """are is was were be with of and or to by for the a an as at in on set setting settings value values where
    when then than that this from using use via under over""".split()  # noqa: SIM905 (a word list reads best as words)
)
# Words that do not tell one term from another ("the default value of α", "a good step size").
_GENERAL_WORDS = frozenset("the a an its their our default good value values setting settings initial".split())  # noqa: SIM905
_WORD = re.compile(r"[^\W\d_]+")


Definitions = dict[str, frozenset[str]]  # symbol → the key of each of its definitions (`term_key`)


def definitions(texts: Iterable[str]) -> Definitions:
    """Each symbol defined in `texts`, with the key of each of its definitions."""
    found: dict[str, set[str]] = {}
    for text in texts:
        for symbol, key in _pairs(text):
            if key:
                found.setdefault(symbol, set()).add(key)
    return {s: frozenset(k) for s, k in found.items()}


def _pairs(text: str) -> Iterable[tuple[str, str]]:
    for m in _DEFINED_AFTER.finditer(text):
        yield m.group(1), term_key(m.group(2))
    for m in _DEFINED_BEFORE.finditer(text):
        phrase = m.group(1).split()
        if phrase[-1].casefold() not in _NOT_DEFINING:
            yield m.group(2), term_key(" ".join(phrase))


def term_key(phrase: str) -> str:
    """A term as one string, whether its words are written apart or run together and in the
    singular or plural ("Step sizes", "stepsize": "stepsize"), less words too general to tell
    terms apart ("the default step size": "stepsize")."""
    words = [w.casefold() for w in _WORD.findall(phrase)]
    kept = [w.removesuffix("s") if len(w) > 3 else w for w in words if w not in _GENERAL_WORDS]
    return "".join(kept)


def symbols_for(phrase: str, defined: Definitions) -> tuple[str, ...]:
    """The symbols defined as the term a question asks the value of (`phrase`, see
    citeqa.answer.asked.asked_phrase): "α" for "default step size" where the document says
    "α: Stepsize". The whole term must match: "weight decay" is not "decay"."""
    key = term_key(phrase)
    return tuple(sorted(s for s, keys in defined.items() if key and key in keys))


def lookup_words(phrase: str) -> list[str]:
    """The words to find a term's definitions by in the index: each of its words and each two
    run together ("step size": step, size, stepsize)."""
    words = [w.casefold() for w in _WORD.findall(phrase) if w.casefold() not in _GENERAL_WORDS]
    return list(dict.fromkeys(words + ["".join(words[i : i + 2]) for i in range(len(words) - 1)]))
