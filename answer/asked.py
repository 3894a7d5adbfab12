"""What a question asks, read without a model: its subject (the names it asks about), the kind of
answer it wants and the words that answer must be about; and whether a sentence states one.

Evidence selection scores sentences for sharing the question's words; this module decides
whether a sentence *answers*: a quantity question needs a sentence that states a number about
the asked thing ("What dropout rate ..." needs a number in a sentence about dropout, not one that
only names the method), a date question a date, a "who" question a name. The subject is checked
against the index (`Names`, filled by the engine from the store): a quote must come from a
passage about the names the question asks about, and a name the documents never mention is
reported as such. Follow-ups ("And for ResNet-152?", "And when was that measured?") are read
together with the question before them (`asked`).

Pure functions over text, cached.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Literal

from citeqa.answer.conversation import is_followup, previous_question
from citeqa.answer.evidence_text import asks_quantity, states_number, stems
from citeqa.core.types import History, Hit

AnswerType = Literal["quantity", "date", "person", "other"]

# Passages either side of a sentence's own within which a mention of the subject still makes the
# sentence about it (in a two-column paper a method is named every few passages, not in each).
NEAR = 2

# A token of a question: words with inner hyphens, dots, slashes or pluses kept whole ("ResNet-152",
# "GPT-3.5", "pass@1", "C++"). Bounded repetitions only: linear on any input.
_TOKEN = re.compile(r"[^\W_][\w@+]*(?:[-./'’][\w@+]+)*\+*")
# A plural acronym names a kind of thing, not a subject: "GPUs", "FLOPs", "LLMs".
_COMMON_ACRONYM = re.compile(r"[A-Z]{2,}[a-z]?s")
# Words after which a name sets the question's context rather than its subject.
_CONTEXT = frozenset(["on", "in", "with", "than", "from", "at", "by", "against", "over", "versus", "vs", "behind", "using", "via", "like", "across", "among"])
# Capitalised words that start or steer a question rather than name its subject.
_NOT_NAMES = frozenset(
    ["what", "which", "who", "whom", "whose", "when", "where", "why", "how", "is", "are", "was", "were", "do", "does", "did", "can", "could", "should", "would", "will", "shall", "may", "might", "has", "have", "had", "the", "a", "an", "in", "on", "of", "for", "to", "and", "or", "but", "if", "i", "it", "its", "this", "that", "these", "those", "there", "their", "they", "then", "also", "please", "tell", "give", "list", "name", "according"]
)
_DATE = re.compile(
    r"^\s*(?:(?:and|but|so|then)\s+)?(?:when|(?:in\s+)?(?:what|which)\s+(?:year|date|month|day|century|decade|time))\b"
    r"|\b(?:what|which)\s+(?:year|date|month|day|century|decade)\b",
    re.IGNORECASE,
)
# Quantities that citeqa.answer.evidence_text's question forms (calibrated for scoring) leave out:
# a measure named a few words after "what" or "which" ("What dropout rate ...", "Which top-5 error ...").
_MEASURE = re.compile(
    r"\b(?:what|which)\s+(?:[\w@.+-]+\s+){0,3}?(?:rate|size|value|number|amount|error|accuracy|score|depth|width"
    r"|height|length|ratio|percentage|proportion|fraction|count|loss|dimension|budget|cost|price|temperature|speed"
    r"|distance|weight|capacity|decay|momentum|duration|pass@\d+)s?\b",
    re.IGNORECASE,
)
_PERSON = re.compile(r"^\s*(?:who|whom|whose)\b|\bby\s+whom\b", re.IGNORECASE)
_MONTH = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|spring|summer|autumn|fall|winter)\b",
    re.IGNORECASE,
)
# The asked thing of a quantity question: the words after "how many/much", or between "what/which"
# and the type word ("What dropout rate ...": dropout), up to the verb.
_VERBS = r"(?:do|does|did|is|are|was|were|has|have|had|can|could|will|would|should|must|might|may)"
_HOW_MANY = re.compile(r"\bhow\s+(?:many|much)\s+(?P<what>(?:(?!" + _VERBS + r"\b)[\w@.+-]++\s*){0,6})", re.I)
_WHAT_TYPE = re.compile(
    r"\b(?:what|which)\s+(?P<what>(?:(?!" + _VERBS + r"\b)[\w@.+-]++\s*){1,6}?)"
    r"\s*(?:" + _VERBS + r"|of|for|in|on|at|to|by|with|from)\b",
    re.I,
)
# Words that name the type of a quantity rather than what it is of: "What dropout *rate*" asks
# about dropout. Left in when nothing else is named ("What rate ...").
_OF_WHAT = re.compile(r"\s*of\s+(?:the\s+|a\s+|an\s+)?(?P<what>(?:(?!" + _VERBS + r"\b)[\w@.+-]++\s*){1,4})", re.I)
_HOW_ADJECTIVE = re.compile(
    r"\bhow\s+(deep|long|big|large|fast|old|far|wide|tall|high|heavy|small|short|often|quickly|slow)\b", re.I
)
_TYPE_WORDS = frozenset(
    stems(
        "rate size value values number amount percentage percent proportion fraction share length speed "
        "distance date time year month day period price cost level degree kind type many much"
    )
)
# Follow-ups that only name a new subject: "And for ResNet-152?", "What about the 34-layer net?"
_SUBJECT_SWAP = re.compile(
    r"^\s*(?:and|but|also)?\s*(?:what|how)?\s*(?:about|for|with|of|in)?\s+(?P<what>.+?)\s*\??\s*$", re.I
)
_ASKS = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)


@dataclass(frozen=True)
class Name:
    """A name the question asks about, as written ("ResNet-152") and as the words that make it up
    in lower case ("resnet", "152"), which a passage must all have to name it. A name after a
    preposition such as "on" or "with" ("... on ImageNet", "compared with SGD") sets the context
    rather than the subject (`context`): the document must mention it, not the passage."""

    text: str
    parts: tuple[str, ...]
    context: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """The words to look the name up by in the index: its longest alphabetic word, and that
        word without a plural "s" ("GPUs": the documents may say "GPU")."""
        alpha = [p for p in self.parts if any(c.isalpha() for c in p)] or list(self.parts)
        key = max(alpha, key=len)
        return tuple(dict.fromkeys((key, _fold(key))))


@dataclass(frozen=True)
class Asked:
    """What a question asks: `question` as it stands alone (a follow-up rewritten with the one
    before it), the kind of answer, the stems that name the asked thing (a stating sentence must
    have one; empty: any), and the names it asks about."""

    question: str
    kind: AnswerType
    focus: frozenset[str] = frozenset()
    names: tuple[Name, ...] = ()
    previous_answer: str = ""  # the answer given to the question this one follows, if any
    followup: bool = False


def _parts(text: str) -> tuple[str, ...]:
    return tuple(p for p in re.split(r"[^\w+@]+|_+", text.casefold()) if p)


def _fold(word: str) -> str:
    """A plural folded as citeqa.answer.citations folds it: "GPUs" is "GPU"."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _is_name_token(token: str, first: bool) -> bool:
    if token.casefold().strip("'’s") in _NOT_NAMES or _COMMON_ACRONYM.fullmatch(token):
        return False
    body = token[1:] if first else token
    return any(c.isupper() for c in body)


@functools.lru_cache(maxsize=4096)
def names(question: str) -> tuple[Name, ...]:
    """The names `question` asks about: runs of capitalised words or words with inner capitals
    ("Kestrel K2", "Fusion-in-Decoder", "BERT", "The Stack v2" as "Stack v2"), with a lower-case
    version or number right after them ("Llama 2", "Stack v2"). The question's first word counts
    only with an inner capital ("ResNet-50's ...")."""
    tokens = [m.group() for m in _TOKEN.finditer(question)]
    out: list[Name] = []
    run: list[str] = []
    context = False  # the run follows a preposition of context ("on ImageNet")

    def close() -> None:
        if run:
            text = " ".join(run)
            out.append(Name(text, _parts(text), context))
            run.clear()

    for i, tok in enumerate(tokens):
        tok = re.sub(r"['’]s$", "", tok)
        if _is_name_token(tok, first=i == 0):
            if not run:
                before = tokens[i - 1].casefold() if i else ""
                # "with SGD and Adagrad": a name joined to a context name is context too
                context = before in _CONTEXT or (before in ("and", "or") and bool(out) and out[-1].context)
            run.append(tok)
        elif run and re.fullmatch(r"v?\d+(?:\.\d+)?[a-zA-Z]?|[a-z]?\d+[a-zA-Z]*", tok):
            run.append(tok)  # "Llama 2", "Stack v2", "StarCoder2 15b"
            close()
        else:
            close()
    close()
    seen: set[tuple[str, ...]] = set()
    unique = []
    for n in out:
        if n.parts and n.parts not in seen:
            seen.add(n.parts)
            unique.append(n)
    return tuple(unique)


@functools.lru_cache(maxsize=4096)
def answer_type(question: str) -> AnswerType:
    if _DATE.search(question):
        return "date"
    if asks_quantity(question) or _MEASURE.search(question):
        return "quantity"
    if _PERSON.search(question):
        return "person"
    return "other"


@functools.lru_cache(maxsize=4096)
def focus(question: str) -> frozenset[str]:
    """The stems that name what a quantity question asks the value of ("How many parameters ...":
    paramet; "What dropout rate ...": dropout), without the question's names; empty when the
    question names nothing more ("How many?")."""
    if _HOW_ADJECTIVE.search(question):
        # "How large was the first version of The Stack?": a size is stated in its units ("a 6.4
        # TB dataset"), seldom with the adjective; any number will do.
        return frozenset()
    m = _HOW_MANY.search(question) or _WHAT_TYPE.search(question)
    if m is None:
        return frozenset()
    phrase = m.group("what")
    if m.re is _WHAT_TYPE and not stems(phrase) - _TYPE_WORDS:
        # "What value of beta2 ...", "What fraction of the training steps ...": the asked thing
        # is what the type word is of.
        of = _OF_WHAT.match(question, m.end("what"))
        phrase = of.group("what") if of else phrase
    if not phrase.strip() and m.re is _HOW_MANY:
        # "How much did it cost ...", "How much does TriviaQA accuracy improve when ...": the asked
        # thing is what follows the verb up to a preposition or clause, less pronouns and names.
        named = {p for n in names(question) for p in n.parts}
        rest = re.match(r"\s*\w+\s+(.*)", question[m.end() :])
        clause = re.split(r"\b(?:in|on|at|for|with|of|from|by|to|when|if|than|after|before)\b|[,;?]", rest.group(1) if rest else "")[0]
        phrase = " ".join(w for w in _TOKEN.findall(clause) if w.casefold() not in named)
    words = stems(phrase)
    for n in names(question):
        words -= stems(" ".join(n.parts))
    specific = words - _TYPE_WORDS
    chosen = set(specific or words)
    # "step size" is also written "stepsize"
    parts = [w for w in _TOKEN.findall(phrase) if stems(w)]
    if len(parts) >= 2:
        chosen |= stems(parts[0] + parts[1])
    return frozenset(chosen)


def _swapped_subject(question: str, previous: str) -> str | None:
    """The previous question about the follow-up's new name ("And for ResNet-152?" after "What
    top-5 error does ResNet-50 reach?": "What top-5 error does ResNet-152 reach?"), or None when
    the follow-up asks something of its own."""
    if _ASKS.search(re.sub(r"^\s*(?:and\s+)?(?:what|how)\s+about\b", "", question, flags=re.I)):
        return None
    m = _SUBJECT_SWAP.match(question)
    new = names(question)
    if m is None or not new:
        return None
    old = names(previous)
    if not old:
        return f"{previous.rstrip(' ?')} for {m.group('what')}?"
    return previous.replace(old[0].text, new[0].text, 1)


def asked(question: str, history: History = ()) -> Asked:
    """What `question` asks, read with the conversation before it when it cannot stand alone."""
    previous = previous_question(history)
    if previous is None or not is_followup(question):
        return Asked(question, answer_type(question), focus(question), names(question))
    answer = next((c for role, c in reversed(list(history)) if role == "assistant"), "")
    swapped = _swapped_subject(question, previous)
    if swapped is not None:
        return Asked(swapped, answer_type(swapped), focus(swapped), names(swapped), answer, True)
    # A follow-up that asks its own question ("And when was that measured?", "How many steps was
    # it trained for?") wants its own kind of answer about its own asked thing; one that only names
    # a thing ("And epsilon?", "And the ensemble?") wants the previous kind of answer about that
    # thing. The subject, where it names none, is the previous question's.
    if _ASKS.search(question):
        kind, what = answer_type(question), focus(question)
    else:  # "And the ensemble on the test set?": the ensemble's value
        head = re.split(r"\b(?:on|in|at|for|with|of|from|by|during|under)\b", question, maxsplit=1, flags=re.I)[0]
        kind, what = answer_type(previous), stems(head) or stems(question)
    return Asked(f"{previous} {question.strip()}", kind, what, names(question) or names(previous), answer, True)


# -- does a sentence state it ------------------------------------------------------------------


# Numbers that point rather than state: "Figure 1(a)", "Table 2", "Section 3.1", "Eq. (5)", and
# enumerations "1)", "(ii)". Bounded repetitions: linear on any input.
_POINTER = re.compile(
    r"\b(?:fig(?:ure)?s?|tables?|tab|sec(?:tion)?s?|eqs?|equations?|alg(?:orithm)?s?|appendix|chapter|step)\.?\s*"
    r"\(?\d{1,3}(?:\.\d{1,3}){0,3}\)?(?:\s*\(?[a-z]\))?"
    r"|(?:^|[\s(])\(?(?:\d{1,2}|[ivx]{1,4}|[a-h])\)(?=\s)",
    re.IGNORECASE,
)
# Greek letters as papers print them and as users type them ("β2" is "beta2").
_GREEK = str.maketrans(
    {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon", "η": "eta",
     "θ": "theta", "λ": "lambda", "μ": "mu", "σ": "sigma", "τ": "tau", "ρ": "rho", "ω": "omega"}
)


@functools.lru_cache(maxsize=65536)
def states(kind: AnswerType, sentence: str) -> bool:
    """Whether `sentence` states an answer of `kind` at all: a number for a quantity (not one that
    points at a figure, table, section or list item); a year, month or number for a date; a
    capitalised word after its first for a person."""
    if kind == "quantity":
        return states_number(_POINTER.sub(" ", sentence))
    if kind == "date":
        return states_number(_POINTER.sub(" ", sentence)) or bool(_MONTH.search(sentence))
    if kind == "person":
        return any(w[:1].isupper() for w in sentence.split()[1:])
    return True


def answers(what: Asked, sentence: str, near: str = "") -> bool:
    """Whether `sentence` states the kind of answer asked for, about the asked thing: a quantity
    or date question names it (one of the focus stems) in the sentence or in `near`, the
    sentences beside it ("We combine six models to form an ensemble. This leads to 3.57% top-5
    error on the test set.")."""
    if not states(what.kind, sentence):
        return False
    if what.kind not in ("quantity", "date") or not what.focus:
        return True
    return bool(what.focus & (_stems_of(sentence) | _stems_of(near)))


@functools.lru_cache(maxsize=65536)
def _stems_of(text: str) -> frozenset[str]:
    return stems(text.translate(_GREEK)) if text else frozenset()


@dataclass(frozen=True)
class Names:
    """Where the index mentions each of a question's names: name parts → {document path: (chunk
    index, page) of each passage naming it}. A name with no entry occurs nowhere in the documents."""

    found: Mapping[tuple[str, ...], Mapping[str, frozenset[tuple[int, int | None]]]] = field(default_factory=dict)
    complete: bool = True  # every passage with each name was looked at (not cut at a limit)

    def missing(self, what: Asked) -> Name | None:
        return next((n for n in what.names if not self.found.get(n.parts)), None)

    def documents(self, what: Asked) -> tuple[str, ...]:
        """The documents that mention every name of the question's subject (not of its context),
        to search within: a passage elsewhere cannot be about it. Empty when the question names no
        subject, or when the lookup may have missed some (not `complete`)."""
        subject = [n for n in what.names if not n.context]
        if not subject or not self.complete:
            return ()
        common = set.intersection(*(set(self.found.get(n.parts, {})) for n in subject))
        return tuple(sorted(common))

    def about(self, what: Asked, hit: Hit, sentence: str) -> bool:
        """Whether `sentence` of passage `hit` is about every name the question asks about: the
        sentence or its passage names it, or its page or a passage within NEAR of it does, or the
        document's file name or opening passage (title, abstract) does; for a name of the
        question's context, the document mentions it anywhere. A document that mentions the
        subject only in passing elsewhere is not about it: a paper that cites BERT on page 3 does
        not give BERT's learning rate on page 4."""
        return all(self._near(n, hit, sentence) for n in what.names)

    def _near(self, name: Name, hit: Hit, sentence: str) -> bool:
        if _has(name, sentence) or _has(name, hit.text) or _has(name, PurePath(hit.source).stem):
            return True
        where = self.found.get(name.parts, {}).get(hit.source, frozenset())
        if name.context:
            return bool(where)
        return any(i == 0 or abs(i - hit.index) <= NEAR or (hit.page and p == hit.page) for i, p in where)


@functools.lru_cache(maxsize=65536)
def _words(text: str) -> frozenset[str]:
    return frozenset(_fold(p) for p in _parts(text))


def _has(name: Name, text: str) -> bool:
    """All of the name's words are in `text` ("152-layer ResNet" names ResNet-152), or its words
    run together ("StarCoder2" for "StarCoder 2")."""
    words = _words(text)
    if all(_fold(p) in words for p in name.parts):
        return True
    joined = _fold("".join(name.parts))
    return len(name.parts) > 1 and joined in words


def repeats(what: Asked, sentence: str) -> bool:
    """Whether `sentence` was already the answer to the question a follow-up follows: asked again,
    it would answer the previous question, not this one; unless it names the follow-up's own asked
    thing ("And epsilon?" after beta1: "... β1 = 0.9, β2 = 0.999 and ϵ = 10−8" answers both)."""
    if not what.previous_answer or (what.focus and what.focus & _stems_of(sentence)):
        return False
    return " ".join(sentence.split()).casefold() in " ".join(what.previous_answer.split()).casefold()


def found_in(name: Name, mentions: Sequence[Hit]) -> dict[str, frozenset[tuple[int, int | None]]]:
    """From passages that have a name's key word, (chunk index, page) of those that have all of
    its words, by document."""
    out: dict[str, set[tuple[int, int | None]]] = {}
    for h in mentions:
        if _has(name, h.text):
            out.setdefault(h.source, set()).add((h.index, h.page))
    return {s: frozenset(ix) for s, ix in out.items()}
