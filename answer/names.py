"""Where the index mentions the names a question asks about (how a passage names one:
citeqa.answer.mentions).

`Names` holds where the index mentions each
name (filled by the engine from a search of the index itself, so it follows every ingest and
removal) and decides whether a sentence is about the question's subject: the sentence, its
passage, its page or a passage near it names the subject, or the document's title or file name
does. Pure over its inputs, cached.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from citeqa.answer.mentions import Name, is_identifier, is_marked, mentions, mentions_in_name
from citeqa.answer.siblings import names_rival, names_sibling
from citeqa.core.sentences import TABLE_ROW
from citeqa.core.tables import row_label
from citeqa.core.types import Hit

# Passages either side of a sentence's own within which a mention of the subject still makes the
# sentence about it (in a two-column paper a method is named every few passages, not in each).
NEAR = 2


@dataclass(frozen=True)
class Names:
    """Where the index mentions each of a question's names: name parts → {document path: (chunk
    index, page) of each passage naming it}. A name with no entry occurs nowhere in the documents."""

    found: Mapping[tuple[str, ...], Mapping[str, frozenset[tuple[int, int | None]]]] = field(default_factory=dict)
    complete: bool = True  # every passage with each name was looked at (not cut at a limit)

    def missing(self, asked: Sequence[Name]) -> Name | None:
        """The first name of the question's subject that no passage mentions (a name of its
        context that no passage mentions is left out of the question instead: "in degrees
        Celsius" where the documents write "°C"; but not one written as a dataset or method is,
        "on HotpotQA", "on CIFAR-100": a value on another dataset is not the asked one)."""
        return next((n for n in asked if (not n.context or is_marked(n)) and not self.found.get(n.parts)), None)

    def with_passages(self, asked: Sequence[Name], hits: Sequence[Hit]) -> Names:
        """These names, also found in `hits` (the passages retrieved for the question), as they
        are written there: the index is looked up by a name's exact word, a passage is read with
        accents and word endings allowed ("Herve" in "Hervé", "South African" in "South Africa")."""
        found = {parts: dict(where) for parts, where in self.found.items()}
        for n in asked:
            if found.get(n.parts):
                continue
            where: dict[str, set[tuple[int, int | None]]] = {}
            for h in hits:
                if mentions(n, h.text):
                    where.setdefault(h.source, set()).add((h.index, h.page))
            found[n.parts] = {s: frozenset(x) for s, x in where.items()}
        return Names(found, self.complete)

    def documents(self, asked: Sequence[Name]) -> tuple[str, ...]:
        """The documents that mention every name of the question's subject (not of its context),
        to search within: a passage elsewhere cannot be about it. Empty when the question names no
        subject, or when the lookup may have missed some (not `complete`)."""
        subject = [n for n in asked if not n.context]
        if not subject or not self.complete:
            return ()
        common = set.intersection(*(set(self.found.get(n.parts, {})) for n in subject))
        return tuple(sorted(common))

    def about(self, asked: Sequence[Name], hit: Hit, sentence: str, *, all_near: bool = False) -> bool:
        """Whether `sentence` of passage `hit` is about every name the question asks about: the
        sentence or its passage names it, or its page or a passage within NEAR of it does, or the
        document's file name or opening passage (title, abstract) does; for a name of the
        question's context, the document mentions it anywhere. A document that mentions the
        subject only in passing elsewhere is not about it: a paper that cites BERT on page 3 does
        not give BERT's learning rate on page 4.
        The question's first subject name must be near; the others, like names of its context, in
        the document ("How many Walloons and Huguenots emigrated to England and Ireland?").
        A sentence that names a sibling of the subject instead of it ("The Stack v1" for The Stack
        v2, "ResNet-50" for ResNet-152) is about the sibling, whatever its passage names.
        `all_near`: every subject name must be near, as the first must ("Since which Nettle version
        is SHAKE-256 available?" is not answered by another function's Nettle 3.0 pages away)."""
        # the first subject name, or a software name in lower case when there is one: in "How
        # many API entry points did libgomp gain?" libgomp, not the API of many
        subject = [n for n in asked if not n.context]
        first = next((n for n in subject if n.text.islower() and is_identifier(n.text)), next(iter(subject), None))
        if any(names_sibling(n, sentence) for n in asked):
            return False
        if any(names_rival(n, sentence) for n in asked):
            return False
        if TABLE_ROW.fullmatch(sentence) and any(n.context and is_marked(n) and not mentions(n, hit.text) for n in asked):
            return False  # a row of a table with no column or caption for "on HotpotQA"
        if first is not None and TABLE_ROW.fullmatch(sentence) and _row_of_other(first, hit, sentence):
            return False
        # (the feature a version question asks about must be near itself: an opening passage that
        # names it is a manual's table of contents, which names every feature)
        return all(
            self._near(n, hit, sentence, strict=n is first or (all_near and not n.context), opening=not all_near or n is first)
            for n in asked
        )

    def _near(self, name: Name, hit: Hit, sentence: str, *, strict: bool, opening: bool = True) -> bool:
        if mentions(name, sentence) or mentions_in_name(name, PurePath(hit.source).stem):
            return True
        where = self.found.get(name.parts, {}).get(hit.source, frozenset())
        if mentions(name, hit.text):
            return True
        if strict and _OWN_WORK.search(sentence) and len(where) < TOPIC:
            # "We start base model training with a 4k context window" reports the authors' own
            # work: GPT-4, named on the same page five passages away, is not what it is about
            return any(i == 0 or abs(i - hit.index) <= NEAR for i, _ in where)
        if not strict:  # any mention in the document; none anywhere: the name is left out
            return bool(where) or not self.found.get(name.parts)
        if len(where) >= TOPIC and _setting_row(sentence):
            # "25: NaturalQuestions w/o finetuning 45.3 · ..." in Table 2 of the paper that
            # names Fusion-in-Decoder throughout: a row labelled by a setting, not by a method,
            # reports the paper's own
            return True
        return any((opening and i == 0) or abs(i - hit.index) <= NEAR or (hit.page and p == hit.page) for i, p in where)


# A document that names a subject in this many passages is about it throughout.
TOPIC = 5
_OWN_WORK = re.compile(r"\b(?:we|our|us)\b", re.IGNORECASE)


# A row label's word that names a model or method: a number or a capital inside ("plain-34",
# "VGG-16", "BN-Inception", "PReLU-net"), not a setting's plain words ("ensemble", "10-crop").
_NAMING_WORD = re.compile(r"(?<![\w-])(?!top-)(?=[\w-]*[^\W\d_])(?:[\w-]*[^\W\d_][\w]*-\d[\w-]*|[A-Za-z]*[a-z][A-Z][\w-]*|[A-Z]{2,}[\w-]*)")


def _row_of_other(subject: Name, hit: Hit, sentence: str) -> bool:
    """Whether table row `sentence` is labelled with another model's name and neither its label
    nor its table's caption names the subject: "plain-34: top-1 err. 28.54 ..." gives plain-34's
    error, not GoogLeNet's, though GoogLeNet has a row of the same table."""
    label = row_label(sentence)
    if not _NAMING_WORD.search(label) or mentions(subject, label):
        return False
    caption = "\n".join(line for line in hit.text.split("\n") if not TABLE_ROW.fullmatch(line))
    return not mentions(subject, caption)


def _setting_row(sentence: str) -> bool:
    """A table row whose label is a setting ("25", "10 / 100") rather than a name."""
    return bool(TABLE_ROW.fullmatch(sentence)) and not re.search(r"[^\W\d_]", row_label(sentence))


def found_in(name: Name, hits: Sequence[Hit]) -> dict[str, frozenset[tuple[int, int | None]]]:
    """From passages that have a name's key word, (chunk index, page) of those that have all of
    its words, by document."""
    out: dict[str, set[tuple[int, int | None]]] = {}
    for h in hits:
        if mentions(name, h.text):
            out.setdefault(h.source, set()).add((h.index, h.page))
    return {s: frozenset(ix) for s, ix in out.items()}
