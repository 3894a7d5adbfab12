"""How a passage names what a question asks about: a `Name` is written as the user wrote it
("ResNet-152") and kept as the words that make it up; a passage names it when it has all of them,
however it joins or spells them ("152-layer ResNet", "StarCoder2", "Hervé", "European Union" for
"EU"); the names a question asks about (`names`), and which of them is its subject rather than
its context (`with_subject`). Pure functions over text, cached."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from citeqa.core import bundled


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


# A name written as a dataset, benchmark or method is ("ImageNet", "CIFAR-10", "GSM8k", "MATH",
# "SGD"): a capital and then another capital or a digit.
MARKED = r"[A-Z][\w-]{0,30}?[A-Z0-9][\w-]{0,30}"


def is_marked(name: Name) -> bool:
    return re.fullmatch(MARKED, name.text) is not None


# Which of a question's names is its subject, and which only say where or by whom it is measured:
# "What GSM8k pass@1 does GPT-4 reach according to the WizardMath paper?" asks about GPT-4. GSM8k is
# written inside the asked measure (as "pass@1 on GSM8k" would be) and WizardMath is the source it
# is asked of, so a sentence about WizardMath's pass@1 on GSM8k is about another subject.
_AUX = r"(?:do|does|did|is|are|was|were|has|have|had|can|could|will|would)"
# "What|Which <the measure, a few words> <auxiliary verb> <the rest>"
_MEASURE_FIRST = re.compile(rf"^\s*(?:what|which)\s+((?:(?!{_AUX}\b)[^\s?]+\s+){{1,5}}?){_AUX}\s+(.+)$", re.IGNORECASE)
_SOURCE = re.compile(r"\baccording\s+to\s+(?:the\s+)?(.+)$", re.IGNORECASE)


def names_document(question: str, name: Name) -> bool:
    """Whether `question` names a document by `name`: "the ResNet paper", "WizardMath's report"."""
    document = r"(?:['’]s)?\s+(?:paper|report|article|study|manual|guide|documentation|spec|specification|NEWS|FAQ|README)\b"
    return re.search(rf"(?<![\w-]){re.escape(name.text)}{document}", question) is not None


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


# The choices a question ends with, each one capitalised word: "rated High, Moderate or Low?"
_CHOICES = re.compile(r"(?:\b[A-Z][a-z]+,\s+)+[A-Z][a-z]+,?\s+or\s+[A-Z][a-z]+\s*\?\s*$|\b[A-Z][a-z]+\s+or\s+[A-Z][a-z]+\s*\?\s*$")


def without_choices(question: str, found: Sequence[Name]) -> list[Name]:
    """`found` less the choices `question` ends with ("... rated High, Moderate or Low?"): they are
    answers, not what is asked about; unless they are all the names there are ("Which is deeper,
    ResNet-50 or VGG-19?")."""
    choices = _CHOICES.search(question)
    if choices is None or all(re.fullmatch(r"[A-Z][a-z]+", n.text) for n in found):
        return list(found)
    words = set(re.findall(r"[\w-]+", choices.group()))
    return [n for n in found if n.text not in words or not n.text.isalpha()]


# A model's size in parameters, written before or after its name: "13B", "1.5B", "350M".
_SIZE = re.compile(r"\d{1,4}(?:\.\d{1,2})?[BM]")
# A size written apart from its name: "the 13B version of WizardMath" asks about "WizardMath 13B".
_SIZE_OF = re.compile(rf"\b({_SIZE.pattern})\s+(?:version|model|variant|size|edition)\s+of\s+(?:the\s+)?([\w-]+)")


def with_sizes(question: str, found: Sequence[Name]) -> list[Name]:
    """`found` with a size that the question writes apart from its name ("the 13B version of
    WizardMath") joined to that name, as "WizardMath 13B"."""
    out = list(found)
    for m in _SIZE_OF.finditer(question):
        size = next((n for n in out if n.text == m.group(1)), None)
        name = next((n for n in out if n.text == m.group(2)), None)
        if size is not None and name is not None:
            text = f"{name.text} {size.text}"
            out[out.index(size)] = replace(name, text=text, parts=name_parts(text))
            out.remove(name)
    return out


# A token of a question: words with inner hyphens, dots, slashes or pluses kept whole ("ResNet-152",
# "GPT-3.5", "pass@1", "C++"). Bounded repetitions only: linear on any input.
TOKEN = re.compile(r"[^\W_][\w@+]*(?:[-./'’][\w@+]+)*\+*")
_CAMEL = re.compile(r"^.[^\s]*[A-Z]")  # a capital after the first letter: "ImageNet", "BERT"
# A plural acronym names a kind of thing, not a subject: "GPUs", "FLOPs", "LLMs".
_COMMON_ACRONYM = re.compile(r"[A-Z]{2,}[a-z]?s")
# Nationalities and other adjectives made from names ("Irish", "African", "Chinese").
_DEMONYM = re.compile(r"(?:ian|an|ese|ish|ic|ean|i)$")
# Words after which a name sets the question's context rather than its subject.
CONTEXT = frozenset(
    "on in with than from at by against over versus vs behind using via like across among instead".split()  # noqa: SIM905 (a word list reads best as words)
)
# Capitalised words that start or steer a question rather than name its subject.
_NOT_NAMES = frozenset(
    """what which who whom whose when where why how is are was were do does did can could should would will shall may might has have had the
    a an in on of for to and or but if i it its this that these those there their they then also please tell give list name according
    map bleu rouge auc mrr ndcg iou wer psnr ssim""".split()  # noqa: SIM905 (and measures written in capitals: "mAP", "BLEU")
)


def _is_name_token(token: str, first: bool) -> bool:
    if token.casefold().strip("'’s") in _NOT_NAMES or _COMMON_ACRONYM.fullmatch(token):
        return False
    body = token[1:] if first else token
    return any(c.isupper() for c in body) or is_identifier(token)


@functools.lru_cache(maxsize=4096)
def names(question: str) -> tuple[Name, ...]:
    """The names `question` asks about: runs of capitalised words or words with inner capitals
    ("Kestrel K2", "Fusion-in-Decoder", "BERT", "The Stack v2" as "Stack v2"), with a lower-case
    version or number right after them ("Llama 2", "Stack v2"). The question's first word counts
    only with an inner capital ("ResNet-50's ...")."""
    found = list(TOKEN.finditer(question))
    tokens = [m.group() for m in found]
    # a comma or other mark between two words ends a name: "rated High, Moderate or Low"
    parted = [i > 0 and bool(re.search(r"[,;:()]", question[found[i - 1].end() : m.start()])) for i, m in enumerate(found)]
    out: list[Name] = []
    run: list[str] = []
    context = False  # the run follows a preposition of context ("on ImageNet")
    preposition = ""

    def close() -> None:
        if len(run) > 1 and _SIZE.fullmatch(run[0]):
            run.append(run.pop(0))  # "the 13B WizardMath model" asks about "WizardMath 13B"
        if run:
            text = " ".join(run)
            out.append(Name(text, name_parts(text), context, preposition if context else ""))
            run.clear()

    for i, tok in enumerate(tokens):
        tok = re.sub(r"['’]s$", "", tok)
        size = re.fullmatch(r"\d+(?:\.\d+)?[A-Za-z]{1,2}", tok)  # "13B", "1.5B": a size of the name before it
        # (and a software name stands alone: "libtasn1's asn1_get_length_der" is two)
        last = run[-1] if run else ""
        if parted[i] or (run and not _SIZE.fullmatch(run[0]) and (re.search(r"-\d+$", last) or (_CAMEL.search(last) and _CAMEL.search(tok) and not size) or is_identifier(last))):
            # "CIFAR-10 ResNets", "ImageNet ResNets": a name with its number, or two names each
            # written with inner capitals, are two names
            close()
        if _is_name_token(tok, first=i == 0):
            if not run:
                # the word before, past articles and numbers ("in the United States", "with 60 Hertz")
                k = i - 1
                # (a few words at most: a run of numbers is walked once, not once per name after it)
                while k >= max(0, i - 4) and (tokens[k].casefold() in ("the", "a", "an") or tokens[k][:1].isdigit()):
                    k -= 1
                before = tokens[k].casefold() if k >= 0 else ""
                if before.islower() and k >= 1 and tokens[k - 1].casefold() in ("in", "on", "instead"):
                    # "in degrees Celsius", not "to train AlexNet"; "instead of ReLU": what it is not
                    before = tokens[k - 1].casefold()
                # "with SGD and Adagrad": a name joined to a context name is context too; a
                # nationality before a noun ("what Irish town", "South African industry") too
                nationality = _DEMONYM.search(tok) is not None and i + 1 < len(tokens) and tokens[i + 1].islower()
                preposition = before if before in CONTEXT else (out[-1].preposition if out and before in ("and", "or") else "")
                context = (
                    before in CONTEXT
                    or (before in ("and", "or") and bool(out) and out[-1].context)
                    or (nationality and not run)
                )
            run.append(tok)
        elif run and re.fullmatch(r"v?\d+(?:\.\d+)?[a-zA-Z]?|[a-z]?\d+[a-zA-Z]*", tok):
            run.append(tok)  # "Llama 2", "Stack v2", "StarCoder2 15b"
            close()
        else:
            close()
    close()
    unique = [n for i, n in enumerate(out) if n.parts and n.parts not in {m.parts for m in out[:i]}]
    unique = with_sizes(question, without_choices(question, unique))
    if unique and all(n.context for n in unique) and not names_document(question, unique[0]):
        # no other name: the one after "on" is the subject ("the warranty on the Osprey O3"; not
        # "in the ResNet paper", which says where to look)
        unique[0] = Name(unique[0].text, unique[0].parts, False, unique[0].preposition)
    return with_subject(question, unique)


