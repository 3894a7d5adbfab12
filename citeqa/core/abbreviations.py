"""What a table's abbreviated headers stand for, read from the document that prints the table.

Tables are terse: "NQ EM", "mAP", "# params". Questions are not: "What exact match does DPR get
on NaturalQuestions?". A header's abbreviation is spelt out where the document does it:

- a definition, the long form followed by the abbreviation in parentheses ("the standard exact
  match metric (EM)"): the shortest run of words just before it whose initials spell it
  (Schwartz & Hearst's pairing, simplified to word initials);
- else a name of capitalised words, or one word in CamelCase, whose initials spell it ("Natural
  Questions", "NaturalQuestions" for "NQ"); all of the document's spellings of that name.

The long forms join the row passage's header block (citeqa.core.tables), so search, the
question's names and the words of what is asked meet the row; the quoted row keeps the
document's own headers.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

# An abbreviation in a header: two to six letters or digits, at least two of them capitals
# ("NQ", "EM", "mAP", "BLEU", "F1" is left out: one capital).
_ABBREVIATION = re.compile(r"(?<![\w-])(?=(?:[a-z0-9]*[A-Z]){2})[A-Za-z][A-Za-z0-9]{1,5}(?![\w-])")
_DEFINED = re.compile(r"((?:[^\W\d_][\w-]*\s+){1,8})\(([A-Za-z][A-Za-z0-9]{1,5})\)")
_CAPITALISED_RUN = re.compile(r"\b[A-Z][a-z]+(?:[ -](?:of |for |and |the )?[A-Z][a-z]+){1,4}\b")
_CAMEL = re.compile(r"\b[A-Z][a-z]+(?:[A-Z][a-z]+){1,4}\b")
_CAMEL_PART = re.compile(r"[A-Z][a-z]+")
_MINOR = frozenset({"of", "for", "and", "the"})
_MAX_FORMS = 2  # spellings kept per abbreviation


def in_headers(headers: Iterable[str]) -> list[str]:
    """The abbreviations of `headers`, in order, once each."""
    return list(dict.fromkeys(m.group() for h in headers for m in _ABBREVIATION.finditer(h)))


def spelt_out(abbreviations: Iterable[str], text: str) -> dict[str, list[str]]:
    """For each abbreviation that `text` spells out, its long forms (a definition's, else the
    names whose initials spell it, most frequent first)."""
    wanted = set(abbreviations)
    if not wanted:
        return {}
    out: dict[str, list[str]] = {}
    for m in _DEFINED.finditer(text):
        short = m.group(2)
        if short in wanted and short not in out:
            long = _defined_as(short, m.group(1).split())
            if long:
                out[short] = [long]
    rest = wanted - out.keys()
    if rest:
        names: Counter[str] = Counter(n.group() for n in _CAPITALISED_RUN.finditer(text))
        names.update(n.group() for n in _CAMEL.finditer(text))
        for name, _ in names.most_common():
            short = _initials(name)
            if short in rest and len(out.setdefault(short, [])) < _MAX_FORMS:
                out[short].append(name)
    return {k: v for k, v in out.items() if v}


def _defined_as(short: str, words: list[str]) -> str:
    """The shortest run of `words` ending the list whose initials spell `short`, allowing for
    minor words ("exact match metric (EM)": "exact match"; "mean average precision (mAP)")."""
    want = short.casefold()
    for end in range(len(words), 0, -1):
        for start in range(end - 1, max(-1, end - len(want) - 3), -1):
            run = words[start:end]
            letters = "".join(w[0] for w in run if w.casefold() not in _MINOR).casefold()
            if letters == want:
                return " ".join(run)
        if end < len(words) - 1:
            break  # the long form ends at most one word before the parenthesis
    return ""


def _initials(name: str) -> str:
    parts = _CAMEL_PART.findall(name) if " " not in name and "-" not in name else re.split(r"[ -]", name)
    return "".join(p[0] for p in parts if p and p not in _MINOR).upper()


def glossary(headers: Iterable[str], text: str) -> str:
    """The line that spells out `headers`' abbreviations from `text`: "NQ: NaturalQuestions,
    Natural Questions; EM: exact match" ("" when none is spelt out)."""
    found = spelt_out(in_headers(headers), text)
    return "; ".join(f"{short}: {', '.join(longs)}" for short, longs in found.items())
