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
import unicodedata
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
_CAMEL = re.compile(r"^.[^\s]*[A-Z]")  # a capital after the first letter: "ImageNet", "BERT"
# A plural acronym names a kind of thing, not a subject: "GPUs", "FLOPs", "LLMs".
_COMMON_ACRONYM = re.compile(r"[A-Z]{2,}[a-z]?s")
# Nationalities and other adjectives made from names ("Irish", "African", "Chinese").
_DEMONYM = re.compile(r"(?:ian|an|ese|ish|ic|ean|i)$")
# Words after which a name sets the question's context rather than its subject.
_CONTEXT = frozenset(
    "on in with than from at by against over versus vs behind using via like across among".split()  # noqa: SIM905 (a word list reads best as words)
)
# Capitalised words that start or steer a question rather than name its subject.
_NOT_NAMES = frozenset(
    """what which who whom whose when where why how is are was were do does did can could should would will shall may might has have had the
    a an in on of for to and or but if i it its this that these those there their they then also please tell give list name according""".split()  # noqa: SIM905
)
# "When was/did ...", "In what year ...": a date. Not "When extensive time is required ..., what
# ...?" (a clause), "When do treaties apply?" (a condition), nor "What time of day ..." (an hour or
# a part of the day).
_DATE = re.compile(
    r"^\s*(?:(?:and|but|so|then|since|from|until|till)\s+)?when(?:\s+(?:did|was|were|is|will|had|has|exactly)\b"
    r"|\s*\?|$)"
    r"|\b(?:what|which)\s+(?:year|date|month|day|century|decade)\b|\bwhat\s+time\s+of\s+(?:the\s+)?day\b",
    re.IGNORECASE,
)
_VERBS_ = r"(?:do|does|did|is|are|was|were|has|have|had|can|could|will|would|should|must|might|may)"
# Quantities that citeqa.answer.evidence_text's question forms (calibrated for scoring) leave out:
# a measure named a few words after "what" or "which" ("What dropout rate ...", "Which top-5 error ...").
_MEASURE = re.compile(
    r"\b(?:what|which)\s+(?:(?!" + _VERBS_ + r"\b)[\w@.+-]+\s+){0,2}?(?:rate|size|value|number|amount|error|accuracy|score|depth|width"
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
_VERBS = _VERBS_
_HOW_MANY = re.compile(r"\bhow\s+(?:many|much)\s+(?P<what>(?:(?!" + _VERBS + r"\b)[\w@.+-]++\s*){0,6})", re.I)
_WHAT_TYPE = re.compile(
    r"\b(?:what|which)\s+(?P<what>(?:(?!" + _VERBS + r"\b)[\w@.+-]++\s*){1,6}?)"
    r"\s*(?:" + _VERBS + r"|of|for|in|on|at|to|by|with|from)\b",
    re.I,
)
# "What value of beta2 ...": the asked thing is what the type word is of.
_OF_WHAT = re.compile(r"\s*of\s+(?:the\s+|a\s+|an\s+)?(?P<what>(?:(?!" + _VERBS + r"\b)[\w@.+-]++\s*){1,4})", re.I)
_HOW_ADJECTIVE = re.compile(
    r"\bhow\s+(deep|long|big|large|fast|old|far|wide|tall|high|heavy|small|short|often|quickly|slow)\b", re.I
)
# The adjectives of "how <adjective>" questions: they ask, they do not name the asked thing.
_HOW_WORDS = frozenset(
    stems("deep long big large fast old far wide tall high heavy small short often quickly slow soon")
)
# Words that name the type of a quantity rather than what it is of: "What dropout *rate*" asks
# about dropout; "What rate ..." alone names no asked thing.
_TYPE_WORDS = frozenset(
    stems(
        "rate size value values number amount percentage percent proportion fraction share length speed "
        "distance date time year month day decade century era period price cost level degree kind type many much money "
        "weight height width depth temperature mass volume area duration"
    )
)
# Follow-ups that only name a new subject: "And for ResNet-152?", "What about the 34-layer net?"
_SUBJECT_SWAP = re.compile(
    r"(?:and|but|also)?\s*(?:what|how)?\s*(?:about\s+)?(?P<prep>for|with|of|in|on|at|by|from|over|against)?\s+(?P<what>.+)", re.I
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
    # Stems a stating sentence must have one of as well: for a follow-up that only names a new
    # thing ("And on the burrs?" after "How long is the warranty ...?"), what the previous question
    # asked about (the warranty), so that "Replace the burrs after 500 kg" is not its answer.
    also: frozenset[str] = frozenset()
    previous_kind: AnswerType | None = None
    swapped_in: Name | None = None  # the new name of a follow-up that swaps it in ("And on MATH?")

    @property
    def previous_quotes(self) -> frozenset[str]:
        """The sentences quoted in the previous answer (“...”), normalised."""
        return frozenset(_norm(q) for q in _QUOTED.findall(self.previous_answer))


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
        if run and (re.search(r"-\d+$", run[-1]) or (_CAMEL.search(run[-1]) and _CAMEL.search(tok))):
            # "CIFAR-10 ResNets", "ImageNet ResNets": a name with its number, or two names each
            # written with inner capitals, are two names
            close()
        if _is_name_token(tok, first=i == 0):
            if not run:
                # the word before, past articles and numbers ("in the United States", "with 60 Hertz")
                k = i - 1
                while k >= 0 and (tokens[k].casefold() in ("the", "a", "an") or tokens[k][:1].isdigit()):
                    k -= 1
                before = tokens[k].casefold() if k >= 0 else ""
                if before.islower() and k >= 1 and tokens[k - 1].casefold() in ("in", "on"):
                    before = tokens[k - 1].casefold()  # "in degrees Celsius", not "to train AlexNet"
                # "with SGD and Adagrad": a name joined to a context name is context too; a
                # nationality before a noun ("what Irish town", "South African industry") too
                nationality = _DEMONYM.search(tok) is not None and i + 1 < len(tokens) and tokens[i + 1].islower()
                context = (
                    before in _CONTEXT
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
    seen: set[tuple[str, ...]] = set()
    unique = []
    for n in out:
        if n.parts and n.parts not in seen:
            seen.add(n.parts)
            unique.append(n)
    if unique and all(n.context for n in unique):
        # no other name: the one after "on" is the subject ("the warranty on the Osprey O3")
        unique[0] = Name(unique[0].text, unique[0].parts, False)
    return tuple(unique)


# "What is the top-1 error of ..." asks what "What top-1 error of ..." asks.
_WHAT_IS_THE = re.compile(r"\b(what|which)\s+(?:is|was|are|were)\s+(?:the|a|an)\s+", re.IGNORECASE)


def _plainly(question: str) -> str:
    return _WHAT_IS_THE.sub(r"\1 ", question)


@functools.lru_cache(maxsize=4096)
def answer_type(question: str) -> AnswerType:
    question = _plainly(question)
    if _DATE.search(question):
        return "date"
    # citeqa.answer.evidence_text's forms count "when" anywhere; "What does it mean when ..." asks
    # no quantity
    if asks_quantity(re.sub(r"\bwhen\b", " ", question, flags=re.I)) or _MEASURE.search(question):
        return "quantity"
    if _PERSON.search(question):
        return "person"
    return "other"


@functools.lru_cache(maxsize=4096)
def focus(question: str) -> frozenset[str]:
    """The stems that name what a quantity question asks the value of ("How many parameters ...":
    paramet; "What dropout rate ...": dropout), without the question's names; empty when the
    question names nothing more ("How many?")."""
    question = _plainly(question)
    if _HOW_ADJECTIVE.search(question):
        # "How large was the first version of The Stack?": a size is stated in its units ("a 6.4
        # TB dataset"), seldom with the adjective; any number will do.
        return frozenset()
    m = _HOW_MANY.search(question) or _WHAT_TYPE.search(question)
    if m is None:
        return frozenset()
    phrase = m.group("what")
    verb = False  # the asked thing is a verb ("How much did it cost"): no type word to drop
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
        verb = True
    words = stems(phrase)
    for n in names(question):
        words -= stems(" ".join(n.parts))
    # "What year ...", "What rate ...": a type word alone names no asked thing; any value will do
    chosen = set(words if verb else words - _TYPE_WORDS)
    # "step size" is also written "stepsize"
    parts = [w for w in _TOKEN.findall(phrase) if stems(w)]
    if chosen and len(parts) >= 2:
        chosen |= stems(parts[0] + parts[1])
    return frozenset(chosen)


_WHAT_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\b", re.I)


def _swapped_subject(question: str, previous: str) -> str | None:
    """The previous question about the follow-up's new name ("And for ResNet-152?" after "What
    top-5 error does ResNet-50 reach?": "What top-5 error does ResNet-152 reach?"), or None when
    the follow-up asks something of its own."""
    if _ASKS.search(_WHAT_ABOUT.sub("", question)):
        return None
    m = _SUBJECT_SWAP.fullmatch(question.strip().rstrip("?").rstrip())
    new = names(question)
    if m is None or not new:
        return None
    old = names(previous)
    if not old:
        return f"{previous.rstrip(' ?')} for {m.group('what')}?"
    # "And on MATH?" after "... WizardMath reach on GSM8k?" swaps the context (GSM8k), not WizardMath
    preposition = (m.group("prep") or "").casefold()
    context = [n for n in old if n.context]
    target = context[0] if preposition in _CONTEXT and context else next((n for n in old if not n.context), old[0])
    return previous.replace(target.text, new[0].text, 1)


def asked(question: str, history: History = ()) -> Asked:
    """What `question` asks, read with the conversation before it when it cannot stand alone."""
    previous = previous_question(history)
    if previous is None or not is_followup(question):
        return Asked(question, answer_type(question), focus(question), names(question))
    answer = next((c for role, c in reversed(list(history)) if role == "assistant"), "")
    before = answer_type(previous)
    swapped = _swapped_subject(question, previous)
    if swapped is not None:
        return Asked(
            swapped, answer_type(swapped), focus(swapped), names(swapped), answer, True,
            previous_kind=before, swapped_in=names(question)[0],
        )  # fmt: skip
    # A follow-up that asks its own question ("And when was that measured?", "How many steps was
    # it trained for?") wants its own kind of answer about its own asked thing; one that only names
    # a thing ("And epsilon?", "And the ensemble?") wants the previous kind of answer about that
    # thing. The subject, where it names none, is the previous question's.
    if _ASKS.search(_WHAT_ABOUT.sub("", question)):
        kind, what = answer_type(question), focus(question)
    else:  # "And the ensemble on the test set?": the ensemble's value
        head = re.split(r"\b(?:on|in|at|for|with|of|from|by|during|under)\b", question, maxsplit=1, flags=re.I)[0]
        kind, what = answer_type(previous), stems(head) or stems(question)
        named = stems(" ".join(p for n in names(previous) for p in n.parts))
        also = stems(previous) - named - _TYPE_WORDS - _HOW_WORDS - what
        return Asked(
            f"{previous} {question.strip()}", kind, what, names(question) or names(previous), answer, True, also, before
        )
    return Asked(
        f"{previous} {question.strip()}", kind, what, names(question) or names(previous), answer, True, previous_kind=before
    )


# -- does a sentence state it ------------------------------------------------------------------


# Numbers that point rather than state: "Figure 1(a)", "Table 2", "Section 3.1", "Eq. (5)", and
# enumerations "1)", "(ii)". Bounded repetitions: linear on any input.
_POINTER = re.compile(
    r"\b(?:fig(?:ure)?s?|tables?|tab|sec(?:tion)?s?|eqs?|equations?|alg(?:orithm)?s?|appendix|chapter|step)\.?\s*"
    r"\(?\d{1,3}(?:\.\d{1,3}){0,3}\)?(?:\s*\(?[a-z]\))?"
    r"|(?:^|[\s(])\(?(?:\d{1,2}|[ivx]{1,4}|[a-h])\)(?=\s)"
    # and numbers that are part of a name: "top-5", "ResNet-50", "CIFAR-10", "β2", "L2", "GPT-3"
    r"|(?<![\w.])[^\W\d_]{1,30}[-‐]?\d{1,4}(?:\.\d{1,2})?\b",
    re.IGNORECASE,
)
# A year (1000-2099, "the 1990s"), a century or a weekday: what a date is stated with, besides a month.
_YEAR = re.compile(
    r"(?<![\d.,])(?:[1-9]\d{2}|1\d{3}|20\d{2})(?:s|'s)?(?![\d.,]\d)"
    r"|\b(?:\d{1,2}(?:st|nd|rd|th)|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh"
    r"|twelfth|thirteenth|fourteenth|fifteenth|sixteenth|seventeenth|eighteenth|nineteenth|twentieth)\s+centur(?:y|ies)\b"
    r"|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|today|yesterday|morning|evening|night|noon"
    r"|midnight|dawn|dusk)\b",
    re.IGNORECASE,
)
# Quantities in words ("two mechanisms", "a single output", "twice as fast").
_NUMBER_WORD = re.compile(
    r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen"
    r"|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundreds?|thousands?"
    r"|millions?|billions?|trillions?|dozens?|twice|thrice|double|doubled|triple|tripled|half|single|once"
    r"|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|twentieth|nineteenth"
    r"|eighteenth|seventeenth|sixteenth|fifteenth|centur(?:y|ies)|decades?)\b",
    re.IGNORECASE,
)
# A value stated by comparison ("in less than quadratic time", "lower than for internal combustion").
_COMPARED = re.compile(r"\b(?:less|more|fewer|faster|slower|lower|higher|larger|smaller|greater|longer|shorter)\s+than\b", re.I)
# Greek letters as papers print them and as users type them ("β2" is "beta2").
_GREEK = str.maketrans(
    {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon", "η": "eta",
     "θ": "theta", "λ": "lambda", "μ": "mu", "σ": "sigma", "τ": "tau", "ρ": "rho", "ω": "omega"}
)


@functools.lru_cache(maxsize=65536)
def states(kind: AnswerType, sentence: str) -> bool:
    """Whether `sentence` states an answer of `kind` at all: a number for a quantity (not one that
    points at a figure, table, section or list item, nor part of a name), in digits or words; a
    year, month, day, century or part of the day for a date."""
    if kind == "quantity":
        return (
            states_number(_POINTER.sub(" ", sentence))
            or bool(_NUMBER_WORD.search(sentence))
            or bool(_COMPARED.search(sentence))
        )
    if kind == "date":
        return bool(_YEAR.search(_POINTER.sub(" ", sentence)) or _MONTH.search(sentence))
    # "who" questions are answered by roles as often as by names ("congresses and presidents"):
    # no test of the sentence.
    return True


def answers(what: Asked, sentence: str, near: str = "") -> bool:
    """Whether `sentence` states the kind of answer asked for, about the asked thing: a quantity
    or date question names it (one of the focus stems) in the sentence or in `near`, the
    sentences beside it ("We combine six models to form an ensemble. This leads to 3.57% top-5
    error on the test set.")."""
    if not states(what.kind, sentence):
        return False
    words = _stems_of(sentence) | _stems_of(near)
    if what.also and not what.also & _stems_of(sentence):
        return False
    if what.kind not in ("quantity", "date"):
        return True
    exact = _compounds(what.question)
    if exact and not exact & _compounds(sentence):
        return False  # "top-1 error" is not stated by "top-5 error of 4.49%"
    return not what.focus or bool(what.focus & words)


_COMPOUND = re.compile(r"(?<![\w@.-])[a-z]{1,12}(?:-\d{1,4}|@\.?\d{1,3})(?![\w@-])")


@functools.lru_cache(maxsize=65536)
def _compounds(text: str) -> frozenset[str]:
    """Lower-case words joined to a number that name a measure ("top-1", "top-5", "pass@1"): one
    measure is not another, however many words they share."""
    return frozenset(m.group().casefold() for m in _COMPOUND.finditer(text))


@functools.lru_cache(maxsize=65536)
def _stems_of(text: str) -> frozenset[str]:
    """Stems of `text` with Greek letters spelt out and table headers' abbreviations in full."""
    if not text:
        return frozenset()
    return stems(_ABBREVIATED.sub(lambda m: _IN_FULL[m.group(1).casefold()], text.translate(_GREEK)))


# Abbreviations of tables' column headers ("top-1 err.", "acc.", "# params"), in full.
_IN_FULL = {
    "err": "error",
    "acc": "accuracy",
    "param": "parameters",
    "params": "parameters",
    "val": "validation",
    "avg": "average",
    "perf": "performance",
    "eval": "evaluation",
}
_ABBREVIATED = re.compile(r"\b(err|acc|params?|val|avg|perf|eval)\b\.?", re.IGNORECASE)


@dataclass(frozen=True)
class Names:
    """Where the index mentions each of a question's names: name parts → {document path: (chunk
    index, page) of each passage naming it}. A name with no entry occurs nowhere in the documents."""

    found: Mapping[tuple[str, ...], Mapping[str, frozenset[tuple[int, int | None]]]] = field(default_factory=dict)
    complete: bool = True  # every passage with each name was looked at (not cut at a limit)

    def missing(self, what: Asked) -> Name | None:
        """The first name of the question's subject that no passage mentions (a name of its
        context that no passage mentions is left out of the question instead: "in degrees
        Celsius" where the documents write "°C")."""
        return next((n for n in what.names if not n.context and not self.found.get(n.parts)), None)

    def with_passages(self, what: Asked, hits: Sequence[Hit]) -> Names:
        """These names, also found in `hits` (the passages retrieved for the question), as they
        are written there: the index is looked up by a name's exact word, a passage is read with
        accents and word endings allowed ("Herve" in "Hervé", "South African" in "South Africa")."""
        found = {parts: dict(where) for parts, where in self.found.items()}
        for n in what.names:
            if found.get(n.parts):
                continue
            where: dict[str, set[tuple[int, int | None]]] = {}
            for h in hits:
                if _has(n, h.text):
                    where.setdefault(h.source, set()).add((h.index, h.page))
            found[n.parts] = {s: frozenset(x) for s, x in where.items()}
        return Names(found, self.complete)

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
        not give BERT's learning rate on page 4.
        The question's first subject name must be near; the others, like names of its context, in
        the document ("How many Walloons and Huguenots emigrated to England and Ireland?")."""
        first = next((n for n in what.names if not n.context), None)
        return all(self._near(n, hit, sentence, strict=n is first) for n in what.names)

    def _near(self, name: Name, hit: Hit, sentence: str, *, strict: bool) -> bool:
        if _has(name, sentence) or _has(name, hit.text) or _has(name, PurePath(hit.source).stem):
            return True
        where = self.found.get(name.parts, {}).get(hit.source, frozenset())
        if not strict:  # any mention in the document; none anywhere: the name is left out
            return bool(where) or not self.found.get(name.parts)
        return any(i == 0 or abs(i - hit.index) <= NEAR or (hit.page and p == hit.page) for i, p in where)


_ACRONYM = re.compile(r"[A-Z]{2,5}")
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:(?:of|for|and|the)\s+)?[A-Z][a-z]+){1,4}")


@functools.lru_cache(maxsize=65536)
def _initials(text: str) -> frozenset[str]:
    """The acronyms that runs of capitalised words in `text` make ("European Union": eu; "Court of
    Justice": cj and coj)."""
    out = set()
    for m in _CAPITALISED.finditer(text):
        words = m.group().split()
        out.add("".join(w[0] for w in words if w[0].isupper()).casefold())
        out.add("".join(w[0] for w in words).casefold())
    return frozenset(out)


@functools.lru_cache(maxsize=65536)
def _words(text: str) -> frozenset[str]:
    return frozenset(_fold(_plain(p)) for p in _parts(text))


def _plain(word: str) -> str:
    """Without accents: "Hervé" is written "Herve" too."""
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _matches(part: str, words: frozenset[str]) -> bool:
    """A name's word among `words`, or a longer or shorter form of it ("Africa" for "African",
    "European" for "Europe", "Designation" for "Designated": at least five letters, and all but
    the last three shared), or it misspelt by one letter (`_one_typo`)."""
    if part in words:
        return True
    if len(part) < 4:
        return False
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


def _has(name: Name, text: str) -> bool:
    """All of the name's words are in `text` ("152-layer ResNet" names ResNet-152), or its words
    run together ("StarCoder2" for "StarCoder 2"), or the name is an acronym of words in `text`
    ("EU" for "European Union")."""
    if _ACRONYM.fullmatch(name.text) and name.text.casefold() in _initials(text):
        return True
    words = _words(text)
    if all(_matches(_fold(_plain(p)), words) for p in name.parts):
        return True
    joined = _fold(_plain("".join(name.parts)))
    return len(name.parts) > 1 and joined in words


_QUOTED = re.compile(r"“([^”]{1,2000})”")


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def beside_previous(what: Asked, near: str) -> bool:
    """Whether a sentence stands beside one quoted in the previous answer ("And when was that
    measured?": the sentence before "... maximum depth as 47 metres" says "The 2023 sonar survey
    mapped the whole basin")."""
    quotes = what.previous_quotes
    return bool(quotes) and any(q in _norm(near) for q in quotes)


def repeats(what: Asked, sentence: str) -> bool:
    """Whether `sentence` was already the answer to the question a follow-up follows: asked again,
    it would answer the previous question, not this one. Unless the follow-up only names a new
    thing and the sentence names it too ("And epsilon?" after beta1: "... β1 = 0.9, β2 = 0.999 and
    ϵ = 10−8" answers both), or asks a new kind of answer that the sentence states."""
    if not what.previous_answer or (what.also and what.focus & _stems_of(sentence)):
        return False
    if what.swapped_in is not None and _has(what.swapped_in, sentence):
        return False  # "... +24.8 (81.6 vs. 56.8) on GSM8k, and +9.2 (22.7 vs. 13.5) on MATH" for "And on MATH?"
    if what.previous_kind is not None and what.previous_kind != what.kind and states(what.kind, sentence):
        # "Since when?" after "Who is the station director?": the quoted "... director is Dr.
        # Ingrid Valtonen, who has led the station since 2016" answers the new kind of question.
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
