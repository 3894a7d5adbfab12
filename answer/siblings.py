"""Sentences about a neighbour of the question's subject: another member of its numbered family
("ResNet-50" for ResNet-152, "StarCoder" for StarCoder2, "SHA256" for SHA224), another size of it
("the 110-layer ResNet"), or a rival name in the place of its context ("... on ImageNet" for the
networks "on CIFAR-10"). A quote about a neighbour reads like an answer about the subject: the
worst answer citeqa can give. Pure functions over text."""

from __future__ import annotations

import re
from collections.abc import Sequence

from citeqa.answer.mentions import MARKED, Name, mentions, name_parts
from citeqa.core.sentences import TABLE_ROW
from citeqa.core.tables import row_label

_NUMBERED = re.compile(r"v?\d+(?:\.\d+)?[a-z]?")


def names_rival(name: Name, sentence: str) -> bool:
    """Whether `sentence`, not naming the question's context name, names another in its place,
    after the same preposition: "... the deepest network ever presented on ImageNet" is not about
    the networks "on CIFAR-10", nor "... on GSM8k" about the score "on MATH"."""
    if not name.preposition or mentions(name, sentence):
        return False
    after = re.compile(rf"\b{re.escape(name.preposition)}\s+(?:the\s+)?({MARKED})\b")
    return any(not mentions(name, m.group(1)) for m in after.finditer(sentence))


# An identifier with underscores and a number at its end: "asn1_der_decoding2".
_NUMBERED_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+?[A-Za-z]\d{1,3}")


# A name that runs its letters into its number: "StarCoder2", "SHA224", "GPT4" (not "x86_64").
_GLUED = re.compile(r"([A-Za-z][A-Za-z-]*[A-Za-z])(\d{1,4}(?:\.\d{1,3})?)")


# A constant's name: "SHA3_256_BLOCK_SIZE".
_CONSTANT = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def _glued_numbers(name: Name, sentence: str) -> tuple[str, list[str]] | None:
    """For a name like "StarCoder2": its number, and the numbers its letters have in `sentence`
    ("" where they have none: "StarCoder"; "3" in "SHA3_512"; "256" in "SHA-256")."""
    m = _GLUED.fullmatch(name.text)
    if m is None:
        return None
    stem, number = m.groups()
    found = re.findall(rf"(?<![\w-]){re.escape(stem)}[-‐ ]?(\d{{1,4}}(?:\.\d{{1,3}})?)?(?![A-Za-z\d])", sentence, re.IGNORECASE)
    return number, found


def names_sibling(name: Name, sentence: str) -> bool:
    """Whether `sentence` names another member of the name's numbered family and not the name:
    its words with another number after them ("Stack v1" for "Stack v2", "ResNet-50" for
    "ResNet-152"), or an identifier without its number ("asn1_der_decoding" for
    "asn1_der_decoding2"), or a name run into another number ("SHA256" or "SHA3_512" for
    "SHA224"), or an identifier that shares its first part ("SHA3_256_DIGEST_SIZE" for
    "SHA3_256_BLOCK_SIZE"). Only for names that end in a number, and identifiers."""
    if mentions(name, sentence):
        return False
    if (glued := _glued_numbers(name, sentence)) and any(n and n != glued[0] for n in glued[1]):
        return True
    if _CONSTANT.fullmatch(name.text):
        # (a constant, not a function: a library's functions share a prefix, "asn1_get_tag_der"
        # and "asn1_get_length_der", and a sentence cut from a manual often runs into the next)
        head = re.escape(name.text.split("_")[0])
        if any(o != name.text for o in re.findall(rf"(?<![\w.]){head}(?:_[A-Z0-9]+)+(?![\w])", sentence)):
            return True
    if _NUMBERED_IDENTIFIER.fullmatch(name.text):
        # "asn1_der_decoding()" is not "asn1_der_decoding2", the function that came after it
        base = name.text.rstrip("0123456789")
        if re.search(rf"(?<![\w.]){re.escape(base)}(?![\w])", sentence, re.IGNORECASE):
            return True
    # its words, then its numbers ("ResNet 152", "CVE 2018 0494"): the same words with other numbers
    k = next((i for i, p in enumerate(name.parts) if _NUMBERED.fullmatch(p)), len(name.parts))
    stem, number = name.parts[:k], name.parts[k:]
    if not stem or not number or not all(_NUMBERED.fullmatch(p) for p in number):
        return False
    words = name_parts(sentence)
    n, m = len(stem), len(number)
    return any(
        words[i : i + n] == stem
        and len(after := words[i + n : i + n + m]) == m
        and all(_NUMBERED.fullmatch(w) for w in after)
        and tuple(after) != number
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
    for word, _ in asked:  # a table's cell under its header ("# layers 1202"), and "34 parameter layers"
        stated |= {(word, m.group(1)) for m in re.finditer(rf"\b{word}s?\s+(\d{{1,5}})(?![\w.,])", quote)}
        stated |= {(word, m.group(1)) for m in re.finditer(rf"(?<![\w.,])(\d{{1,5}})\s+(?:[a-z]{{3,12}}\s+)?{word}s\b", quote)}
    return any(w == word and n != number for word, number in asked for w, n in stated) and not asked & stated


def names_family_only(name: Name, sentence: str) -> bool:
    """Whether `sentence` names the family of a numbered name and not the name: "WizardMath" for
    "WizardMath 13B", "ResNet" for "ResNet-152" (not "the 152-layer ResNet", which names it),
    "StarCoder" for "StarCoder2"."""
    if mentions(name, sentence):
        return False
    if (glued := _glued_numbers(name, sentence)) and "" in glued[1]:
        return True
    if len(name.parts) < 2 or not _NUMBERED.fullmatch(name.parts[-1]):
        return False
    return mentions(Name(" ".join(name.parts[:-1]), name.parts[:-1]), sentence)


# A sentence that opens with a name ("WizardMath observe ...", "BN-inception [16]: top-1 err. ..."):
# that name is what it states a value of.
_OPENING = re.compile(rf"^\W{{0,3}}(?:(?:The|Our|Specifically|However|Moreover|Overall|Using|With),?\s+)?({MARKED})(?![\w-])")


def opens_with_other(asked: Sequence[Name], sentence: str) -> bool:
    """Whether `sentence` opens with a name that is none of the question's, and does not name its
    subject: "WizardMath observe ... pass@1 ... (81.6 vs. 56.8) on GSM8k" gives WizardMath's value,
    not Minerva's."""
    subject = next((n for n in asked if not n.context), None)
    if subject is None or mentions(subject, sentence):
        return False
    m = _OPENING.match(sentence)
    # a model's name, written with lower-case letters and a capital or number inside ("WizardMath",
    # "BN-inception"), not an acronym for a part or a step ("The RPN step and Fast R-CNN step ...")
    if not m or not _MODEL_NAME.fullmatch(m.group(1)):
        return False
    # (a part of a name the question gives: "BN-x5-Sigmoid" of "Inception BN-x5-Sigmoid"; not a
    # name of its context: "WizardMath observe ..." for GPT-4's score "according to the WizardMath paper")
    parts = set(name_parts(m.group(1)))
    return not any(mentions(n, m.group(1)) or parts <= set(n.parts) for n in asked if not n.context)


_MODEL_NAME = re.compile(r"(?=[\w-]*[a-z])[A-Z][\w-]*?(?:[a-z][A-Z]|\d)[\w-]*|[A-Z]{2,5}-[a-z][\w-]*")
