"""The names a question asks about, and where the index mentions them.

A `Name` is written as the user wrote it ("ResNet-152") and kept as the words that make it up;
a passage names it when it has all of them, however it joins or spells them ("152-layer ResNet",
"StarCoder2", "Hervé", "European Union" for "EU"). `Names` holds where the index mentions each
name (filled by the engine from a search of the index itself, so it follows every ingest and
removal) and decides whether a sentence is about the question's subject: the sentence, its
passage, its page or a passage near it names the subject, or the document's title or file name
does. Pure over its inputs, cached.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from citeqa.core import bundled
from citeqa.core.sentences import TABLE_ROW
from citeqa.core.tables import row_label
from citeqa.core.types import Hit

# Passages either side of a sentence's own within which a mention of the subject still makes the
# sentence about it (in a two-column paper a method is named every few passages, not in each).
NEAR = 2


@dataclass(frozen=True)
class Name:
    """A name the question asks about, as written ("ResNet-152") and as the words that make it up
    in lower case ("resnet", "152"), which a passage must all have to name it. A name after a
    preposition such as "on" or "with" ("... on ImageNet", "compared with SGD") sets the context
    rather than the subject (`context`): the document must mention it, not the passage."""

    text: str
    parts: tuple[str, ...]
    context: bool = False
    preposition: str = ""  # the word a context name follows in the question ("on")

    @property
    def keys(self) -> tuple[str, ...]:
        """The words to look the name up by in the index: its longest alphabetic word, and that
        word without a plural "s" ("GPUs": the documents may say "GPU")."""
        alpha = [p for p in self.parts if any(c.isalpha() for c in p)] or list(self.parts)
        key = max(alpha, key=len)
        return tuple(dict.fromkeys((key, _fold(key))))


_GREEK_NAMED = re.compile(
    r"(?:alpha|beta|gamma|delta|epsilon|zeta|eta|theta|iota|kappa|lambda|mu|nu|xi|pi|rho|sigma|tau|phi|chi|psi|omega)\d"
)
# A letter then a digit in one word part ("asn1", "x86"), not a number's suffix ("1970s", "10th").
_LETTER_DIGIT = re.compile(r"[^\W\d_]\d")


_ENGLISH_ENDING = re.compile(r"(?:s|ing|ion|ism|ic|ed|er|ly|ness|ment|able|ity|ive|ous|al|ist|ize|izer|ise)$")


def is_identifier(token: str) -> bool:
    """A software name written in lower case: joined by underscores ("asn1_create_element"), a word
    that runs letters into digits ("libtasn1"), or
    by hyphens with a part that is a letter-digit mix or a short word outside common English
    ("xdg-mime", "go-enry", "update-mime-database", "systemd-network"), or a library ("libgomp").
    Not English compounds: "so-called",
    "non-deterministic", "mid-1970s" (on SQuAD's questions, none of its 66 hyphenated words
    counts)."""
    if "_" in token.strip("_") or (re.fullmatch(r"[a-z]{2,}\d+[a-z\d]*", token) and not _GREEK_NAMED.match(token)):
        return True  # or a word that runs letters into digits: "libtasn1", "mp3" (not "beta2": β2)
    words = bundled.embedder_words()
    if re.fullmatch(r"lib[a-z]{2,12}", token) and token not in words:
        return True  # a library: "libgomp", "libgccjit" (not "library", "liberty")
    if "-" not in token.strip("-"):
        return False
    return any(
        _LETTER_DIGIT.search(part)
        or (part.isalpha() and len(part) <= 4 and part.casefold() not in words)
        # a short word outside the vocabulary that no English ending explains: "systemd"
        # (not "non-deterministic", "complexity-theoretic", "non-condensing": SQuAD's)
        or (part.isalpha() and len(part) <= 8 and part.casefold() not in words and not _ENGLISH_ENDING.search(part))
        for part in token.split("-")
        if part
    )


def name_parts(text: str) -> tuple[str, ...]:
    return tuple(p for p in re.split(r"[^\w+@]+|_+", text.casefold()) if p)


def _fold(word: str) -> str:
    """A plural folded as citeqa.answer.citations folds it: "GPUs" is "GPU"."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


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
        return next((n for n in asked if (not n.context or _is_marked(n)) and not self.found.get(n.parts)), None)

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

    def about(self, asked: Sequence[Name], hit: Hit, sentence: str) -> bool:
        """Whether `sentence` of passage `hit` is about every name the question asks about: the
        sentence or its passage names it, or its page or a passage within NEAR of it does, or the
        document's file name or opening passage (title, abstract) does; for a name of the
        question's context, the document mentions it anywhere. A document that mentions the
        subject only in passing elsewhere is not about it: a paper that cites BERT on page 3 does
        not give BERT's learning rate on page 4.
        The question's first subject name must be near; the others, like names of its context, in
        the document ("How many Walloons and Huguenots emigrated to England and Ireland?").
        A sentence that names a sibling of the subject instead of it ("The Stack v1" for The Stack
        v2, "ResNet-50" for ResNet-152) is about the sibling, whatever its passage names."""
        # the first subject name, or a software name in lower case when there is one: in "How
        # many API entry points did libgomp gain?" libgomp, not the API of many
        subject = [n for n in asked if not n.context]
        first = next((n for n in subject if n.text.islower() and is_identifier(n.text)), next(iter(subject), None))
        if any(names_sibling(n, sentence) for n in asked):
            return False
        if any(names_rival(n, sentence) for n in asked):
            return False
        if TABLE_ROW.fullmatch(sentence) and any(n.context and _is_marked(n) and not mentions(n, hit.text) for n in asked):
            return False  # a row of a table with no column or caption for "on HotpotQA"
        return all(self._near(n, hit, sentence, strict=n is first) for n in asked)

    def _near(self, name: Name, hit: Hit, sentence: str, *, strict: bool) -> bool:
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
        return any(i == 0 or abs(i - hit.index) <= NEAR or (hit.page and p == hit.page) for i, p in where)


# A document that names a subject in this many passages is about it throughout.
TOPIC = 5
_OWN_WORK = re.compile(r"\b(?:we|our|us)\b", re.IGNORECASE)


def _setting_row(sentence: str) -> bool:
    """A table row whose label is a setting ("25", "10 / 100") rather than a name."""
    return bool(TABLE_ROW.fullmatch(sentence)) and not re.search(r"[^\W\d_]", row_label(sentence))


_ACRONYM = re.compile(r"[A-Z]{2,5}|(?=(?:[a-z]?[A-Z]){2})[A-Z][A-Za-z]{1,4}")  # "EU", and "FiD"
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:(?:of|for|and|the)\s+)?[A-Z][a-z]+){1,4}")
# A name hyphenated from words, the first capitalised: "Fusion-in-Decoder" ("FiD").
_HYPHENATED = re.compile(r"\b[A-Z][a-z]{1,20}(?:-[A-Za-z][a-z]{0,20}){1,4}\b")


def _is_acronym(text: str) -> bool:
    return _ACRONYM.fullmatch(text) is not None


@functools.lru_cache(maxsize=65536)
def _initials(text: str) -> frozenset[str]:
    """The acronyms that runs of capitalised words in `text` make ("European Union": eu; "Court of
    Justice": cj and coj), and hyphenated names ("Fusion-in-Decoder": fid and fd)."""
    out = set()
    for m in [*_CAPITALISED.finditer(text), *_HYPHENATED.finditer(text)]:
        words = re.split(r"[\s-]+", m.group())
        out.add("".join(w[0] for w in words if w[0].isupper()).casefold())
        out.add("".join(w[0] for w in words).casefold())
    return frozenset(out)


@functools.lru_cache(maxsize=65536)
def _words(text: str) -> frozenset[str]:
    return frozenset(_fold(_plain(p)) for p in name_parts(text))


def _capital_words(text: str) -> frozenset[str]:
    return frozenset(_fold(_plain(w.casefold())) for w in re.findall(r"[^\W\d_]+", text) if w.isupper())


def mentions_in_name(name: Name, file_name: str) -> bool:
    """`mentions` for a file's name, whatever its case."""
    return mentions(Name(name.text.casefold(), name.parts), file_name)


def _plain(word: str) -> str:
    """Without accents: "Hervé" is written "Herve" too."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _matches(part: str, words: frozenset[str]) -> bool:
    """A name's word among `words`, or a longer or shorter form of it ("Africa" for "African",
    "European" for "Europe", "Designation" for "Designated": at least five letters, and all but
    the last three shared), or it misspelt by one letter (`_one_typo`)."""
    if part in words:
        return True
    if len(part) < 4 or any(c.isdigit() for c in part):
        return False  # a number is written as it is: "CIFAR-100" is not "CIFAR-10"
    stem = part[: max(4, len(part) - 3)]
    return any(
        (len(part) >= 5 and len(w) >= 5 and w.startswith(stem) and abs(len(w) - len(part)) <= 3)
        or _one_typo(part, w)
        for w in words
    )


def _one_typo(a: str, b: str) -> bool:
    """`b` is `a` with two letters swapped ("TEFU", "TFEU") or, for words of six letters or more,
    one letter added, dropped or changed ("Hatmanis", "Hartmanis"): a name misspelt in a question."""
    if a == b or abs(len(a) - len(b)) > 1 or a[:1] != b[:1]:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]:
            return True
        return len(a) >= 6 and len(diff) == 1
    if min(len(a), len(b)) < 6:
        return False
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1 :]


def mentions(name: Name, text: str) -> bool:
    """All of the name's words are in `text` ("152-layer ResNet" names ResNet-152), or its words
    run together ("StarCoder2" for "StarCoder 2"), or the name is an acronym of words in `text`
    ("EU" for "European Union")."""
    if _is_acronym(name.text) and name.text.casefold() in _initials(text):
        return True
    if name.text.islower() and ((len(name.parts) > 1 and re.search(r"[-_]", name.text)) or is_identifier(name.text)):
        # a software name in lower case ("xdg-mime", "asn1_create_element") is named only with
        # its words together: "the mime subdirectory of XDG_DATA_HOME" does not name xdg-mime;
        # and exactly: "libgccjit" is not "libgomp"
        joined = r"[-_\s]?".join(re.escape(p) for p in name.parts)
        return re.search(rf"(?<![\w-]){joined}(?![\w-])", text.casefold()) is not None
    # a name in capitals is written so in the text: "MATH" (a benchmark) is not "math", "BLEU"
    # not "bleu" (a file name, "bert_paper.pdf", is read in any case: `mentions_in_name`)
    capitals = len(name.text) >= 3 and name.text.isalpha() and name.text.isupper()
    words = _capital_words(text) if capitals else _words(text)
    if all(_matches(_fold(_plain(p)), words) for p in name.parts):
        return True
    joined = _fold(_plain("".join(name.parts)))
    return len(name.parts) > 1 and joined in words


_NUMBERED = re.compile(r"v?\d+(?:\.\d+)?[a-z]?")


# A name written as a dataset, benchmark or method is ("ImageNet", "CIFAR-10", "GSM8k", "MATH",
# "SGD"): a capital and then another capital or a digit.
_MARKED = r"[A-Z][\w-]{0,30}?[A-Z0-9][\w-]{0,30}"


def _is_marked(name: Name) -> bool:
    return re.fullmatch(_MARKED, name.text) is not None


def names_rival(name: Name, sentence: str) -> bool:
    """Whether `sentence`, not naming the question's context name, names another in its place,
    after the same preposition: "... the deepest network ever presented on ImageNet" is not about
    the networks "on CIFAR-10", nor "... on GSM8k" about the score "on MATH"."""
    if not name.preposition or mentions(name, sentence):
        return False
    after = re.compile(rf"\b{re.escape(name.preposition)}\s+(?:the\s+)?({_MARKED})\b")
    return any(not mentions(name, m.group(1)) for m in after.finditer(sentence))


# An identifier with underscores and a number at its end: "asn1_der_decoding2".
_NUMBERED_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+?[A-Za-z]\d{1,3}")


def names_sibling(name: Name, sentence: str) -> bool:
    """Whether `sentence` names another member of the name's numbered family and not the name:
    its words with another number after them ("Stack v1" for "Stack v2", "ResNet-50" for
    "ResNet-152"), or an identifier without its number ("asn1_der_decoding" for
    "asn1_der_decoding2"). Only for names that end in a number."""
    if _NUMBERED_IDENTIFIER.fullmatch(name.text) and not mentions(name, sentence):
        # "asn1_der_decoding()" is not "asn1_der_decoding2", the function that came after it
        base = name.text.rstrip("0123456789")
        if re.search(rf"(?<![\w.]){re.escape(base)}(?![\w])", sentence, re.IGNORECASE):
            return True
    if len(name.parts) < 2 or not _NUMBERED.fullmatch(name.parts[-1]) or mentions(name, sentence):
        return False
    stem, number = name.parts[:-1], name.parts[-1]
    words = name_parts(sentence)
    n = len(stem)
    return any(
        words[i : i + n] == stem and i + n < len(words) and _NUMBERED.fullmatch(words[i + n]) and words[i + n] != number
        for i in range(len(words) - n)
    )


def other_size(asked: Sequence[Name], question: str, quote: str, *, value: bool = False) -> bool:
    """Whether `quote` is about another size of the question's subject: "the 110-layer ResNet" is
    not "our ResNet-101", "the 56-layer ResNet" or the table row labelled "ResNet 32". For a
    `value` asked of a numbered subject ("What pass@1 does WizardMath 13B reach?"), a quote that
    names the family without the number ("WizardMath ... 22.7 vs. 13.5 on MATH") is about
    another size too: the paper's own, most often."""
    if value and _other_sized(question, quote):
        return True
    subject = next((n for n in asked if not n.context), None)
    if subject is None:
        return False
    if value and names_family_only(subject, quote):
        return True
    name = re.escape(subject.text)
    size = re.search(r"\b(\d{1,5})[-‐][a-z]{2,12}\s+(?:" + name + r")\b", question)
    if size is None:
        return False
    if TABLE_ROW.fullmatch(quote):
        numbers = set(re.findall(r"(?<![\w.])\d{1,5}(?![\w.])", row_label(quote)))
    else:
        sized = re.finditer(r"\b(\d{1,5})[-‐][a-z]{2,12}\s+" + name + r"|\b" + name + r"[-‐ ]?(\d{1,5})\b", quote, re.I)
        numbers = {m.group(1) or m.group(2) for m in sized}
    return bool(numbers) and size.group(1) not in numbers


# A thing sized in the question by a number made an adjective: "the 34-layer plain baseline",
# "a 5-shot prompt", "the 8-bit model".
_SIZED = re.compile(r"(?<![\w.])(\d{1,5})[-‐]([a-z]{3,12})\b")


def _other_sized(question: str, quote: str) -> bool:
    """Whether `quote` gives a value of another size of the thing the question sizes, and none of
    its size: "the 152-layer ResNet (11.3 billion FLOPs)" for "How many FLOPs does the 34-layer
    plain baseline require?" (the question need not name the thing), or the row "ResNet: # layers
    1202 · ... error (%) 7.93" for the 110-layer ResNet's error."""
    asked = {(m.group(2), m.group(1)) for m in _SIZED.finditer(question)}
    if not asked:
        return False
    stated = {(m.group(2), m.group(1)) for m in _SIZED.finditer(quote)}
    for word, _ in asked:  # a table's cell under its header: "# layers 1202"
        stated |= {(word, m.group(1)) for m in re.finditer(rf"\b{word}s?\s+(\d{{1,5}})(?![\w.,])", quote)}
    return any(w == word and n != number for word, number in asked for w, n in stated) and not asked & stated


def names_family_only(name: Name, sentence: str) -> bool:
    """Whether `sentence` names the family of a numbered name and not the name: "WizardMath" for
    "WizardMath 13B", "ResNet" for "ResNet-152" (not "the 152-layer ResNet", which names it)."""
    if len(name.parts) < 2 or not _NUMBERED.fullmatch(name.parts[-1]) or mentions(name, sentence):
        return False
    return mentions(Name(" ".join(name.parts[:-1]), name.parts[:-1]), sentence)


def found_in(name: Name, hits: Sequence[Hit]) -> dict[str, frozenset[tuple[int, int | None]]]:
    """From passages that have a name's key word, (chunk index, page) of those that have all of
    its words, by document."""
    out: dict[str, set[tuple[int, int | None]]] = {}
    for h in hits:
        if mentions(name, h.text):
            out.setdefault(h.source, set()).add((h.index, h.page))
    return {s: frozenset(ix) for s, ix in out.items()}
