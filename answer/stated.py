"""Whether a sentence states what a question asks (citeqa.answer.asked.Asked): the kind of answer
(a number for a quantity, a date for "when"), about the asked thing ("What dropout rate ..." needs
a sentence about dropout, not one that only names the method), and not the answer already given
to the question a follow-up follows. Pure functions over text, cached; every pattern is linear
in its input (bounded repetitions, no nested quantifiers over the same characters).
"""

from __future__ import annotations

import functools
import re

from citeqa.answer.asked import AnswerType, Asked
from citeqa.answer.evidence_text import numbers, states_number, stems, without_citations
from citeqa.answer.given import FOUR_DIGIT_YEAR, given_counts, stated_counts
from citeqa.answer.units import in_asked_unit, is_unit
from citeqa.core.sentences import TABLE_ROW
from citeqa.core.tables import CELL_SEP, LABEL_SEP

_MONTH = re.compile(
    r"\b(?:jan(?:uary)?|feb(?:ruary)?|mar|apr(?:il)?|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|spring|summer|autumn|winter)\b"
    # words that are months or seasons only as such: "May", not "packages may continue"; "March",
    # not "march"; "the fall of 1998", not "prices fall"
    r"|(?-i:\bMay\b|\bMarch\b)|\bthe\s+fall\b|\bfall\s+(?:of\s+)?\d",
    re.IGNORECASE,
)

# Numbers that point rather than state: "Figure 1(a)", "Table 2", "Section 3.1", "§2.1", "Eq. (5)", and
# enumerations "1)", "(ii)". Bounded repetitions: linear on any input.
_POINTER = re.compile(
    # a network written as its layers ("c64-c64-c128-1000"; first: the names below would take "c64")
    r"(?<![\w.-])[a-z]{1,8}\d{1,5}(?:-[a-z]{0,8}\d{1,5}[a-z]{0,3}){1,20}\b|"
    r"(?:\b(?:fig(?:ure)?s?|tables?|tab|sec(?:tion)?s?|eqs?|equations?|alg(?:orithm)?s?|appendix|chapter|step)\.?|§)\s*"
    r"\(?\d{1,3}(?:\.\d{1,3}){0,3}\)?(?:\s*\(?[a-z]\))?"
    r"|(?:^|[\s(])\(?(?:\d{1,2}|[ivx]{1,4}|[a-h])\)(?=\s)"
    # and a heading's section number or a list item's: "3.3 Batch Normalization enables higher
    # learning rates", "2. Training instruction reward model"
    r"|^\s*\d{1,2}(?:\.\d{1,2}){0,3}\.?\s+(?=[A-Z])"
    # and numbers that are part of a name: "top-5", "ResNet-50/101/152", "CIFAR-10", "β2", "GPT-3",
    # "ASN.1", "X.509", "GSM8k", "pass@1", "mAP@[.5, .95]"
    r"|(?<![\w.])[^\W\d_]{1,30}(?:[-‐]|\.(?=\d))?\d{1,4}(?:\.\d{1,2})?[a-z]{0,2}(?:/\d{1,4}){0,5}\b|\b[^\W\d_]{1,30}@\[?[\d.,:\s]{1,16}\]?"
    # and identifiers written with underscores ("ASN1_MAX_NAME_SIZE", "top_k")
    r"|(?<![\w.])[^\W_]{0,40}(?:_[^\W_]{0,40}){1,8}"
    # and a year in the name of a dataset or contest: "ImageNet 2012", "PASCAL VOC 2007/2012"
    r"|(?-i:\b(?:[A-Z][a-z]{0,20}[A-Z]\w{0,20}|[A-Z]{2,20})\s(?:19|20)\d\d(?:/\d{2,4}){0,3}\b)",
    re.IGNORECASE,
)
# A year (1000-2099, "the 1990s"), a century or a weekday: what a date is stated with, besides a month.
_YEAR = re.compile(
    # not a count of things ("1000 classes", "500 images", "a 152-layer net", "900B+ tokens"), nor an escape ("\203")
    r"(?<![\d.,\\])(?:[1-9]\d{2}|1\d{3}|20\d{2})(?:s|'s)?(?![\d.,]\d)(?![-‐][a-z])(?![KMGTB](?:\+|\b))(?!\d|\s(?!(?:this|thus|his|was|has|its|less|unless|across)\b)[a-z]{2,20}s\b)"
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
    r"|millions?|billions?|trillions?|dozens?|twice|thrice|double|doubled|triple|tripled|half"
    r"|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|twelfth|twentieth|nineteenth"
    r"|eighteenth|seventeenth|sixteenth|fifteenth|centur(?:y|ies)|decades?)\b",
    re.IGNORECASE,
)

# "First, it retrieves ...": the order of an argument's steps, no quantity; nor is the order of a
# method or an approximation ("first order methods", "a second-order Taylor expansion"), nor "call
# jpeg_set_defaults() first, even if ..." (when, not how many).
_ORDER_WORD = re.compile(r"^\W{0,3}(?:first|second|third|secondly|thirdly)\s*,|\b(?:first|second|third)[-\s]order\b|\bfirst(?=\s*[,;:])", re.I)
# A value stated by comparison ("in less than quadratic time", "lower than for internal combustion").
_COMPARED = re.compile(r"\b(?:less|more|fewer|faster|slower|lower|higher|larger|smaller|greater|longer|shorter)\s+than\b", re.I)
# Greek letters as papers print them and as users type them ("β2" is "beta2").
_GREEK = str.maketrans(
    {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ϵ": "epsilon", "η": "eta",
     "θ": "theta", "λ": "lambda", "μ": "mu", "σ": "sigma", "τ": "tau", "ρ": "rho", "ω": "omega"}
)


# A standard's or proposal's number reads like a year: "PEP 404", "RFC 1951", "ISO 8601" (not "AD 476").
_NUMBERED_DOCUMENT = re.compile(r"(?-i:\b(?!(?:AD|BC|BCE|CE)\b)[A-Z]{2,6}\s\d{1,5}\b)(?![.,]\d)")
# Markup quoted in a manual: an XML or HTML tag (`<?xml version="1.0"?>`, `<match offset="0">`)
# holds numbers that are attribute values of the listing, not values stated by a sentence.
_MARKUP = re.compile(r"<[?!/]?[A-Za-z][^<>\n]{0,300}>")


@functools.lru_cache(maxsize=65536)
def states(kind: AnswerType, sentence: str) -> bool:
    """Whether `sentence` states an answer of `kind` at all: a number for a quantity (not one that
    points at a figure, table, section or list item, nor part of a name), in digits or words; a
    year, month, day, century or part of the day for a date."""
    sentence = _MARKUP.sub(" ", sentence)
    if kind == "quantity":  # nor a reference mark ("GSM8k [42] and MATH [43]")
        return (
            states_number(_POINTER.sub(" ", without_citations(sentence)))
            or bool(_NUMBER_WORD.search(_ORDER_WORD.sub(" ", sentence)))
            or bool(_COMPARED.search(sentence))
        )
    if kind == "date":  # not the year of a citation ("RMSProp (Tieleman & Hinton, 2012)"), nor a document's number
        plain = _NUMBERED_DOCUMENT.sub(" ", _POINTER.sub(" ", without_citations(sentence)))
        if TABLE_ROW.fullmatch(sentence):
            # a table's cells are measurements: "Steps to 72.2%: 106" is no year 106
            return bool(FOUR_DIGIT_YEAR.search(plain) or _MONTH.search(sentence))
        return bool(_YEAR.search(plain) or _MONTH.search(sentence))
    # "who" questions are answered by roles as often as by names ("congresses and presidents"):
    # no test of the sentence.
    return True


def answers(what: Asked, sentence: str, near: str = "", *, row: bool = False) -> bool:
    """Whether `sentence` states the kind of answer asked for, about the asked thing: a quantity
    or date question names it (one of the focus stems) in the sentence or in `near`, the
    sentences beside it ("We combine six models to form an ensemble. This leads to 3.57% top-5
    error on the test set."). A table's `row` is read with its caption and headers as `near`,
    which name its measure ("Table 2. Top-1 error (%)" for "18 layers: plain 27.94 · ResNet 27.88")."""
    if not states(what.kind, sentence):
        return False
    if what.kind == "quantity" and not _CHANGE_ASKED.search(what.measure) and not states(what.kind, _CHANGE.sub(" ", sentence)):
        return False  # "ResNet reduces the top-1 error by 3.5%" does not give the top-1 error
    if what.kind == "quantity" and not _values_of_measure(what, sentence):
        return False
    if what.kind == "quantity" and not in_asked_unit(what.measure, sentence):
        return False  # "How large is The Stack v2 in terabytes?" is not answered by "600 languages"
    if what.kind == "quantity" and _other_limit(what.measure, sentence):
        return False  # "indent defaults to 0" does not give the maximum indent
    if what.kind == "date" and _other_end(what.measure, sentence):
        return False  # "last updated 2 October 2018" does not date the first version
    words = stems_of(sentence) | stems_of(near)
    if what.also and not (what.also & stems_of(sentence) and (what.kind != "quantity" or not what.previous_focus or what.previous_focus & words)):
        return False  # "And at level 9?" after xz -6's dictionary size: a sentence about level 9's dictionary
    if what.kind not in ("quantity", "date"):
        # No test of the words: answers to "what"/"which" questions paraphrase them ("In what
        # country is Normandy located?": "... a region in France"). Requiring one of the question's
        # own words cost 6.5% of SQuAD's answerable questions for one tuning question gained.
        return True
    if row and not numbers(what.measure) <= numbers(f"{near} {sentence}"):
        return False  # a row of another setting: "With 25 training passages ..." is not Table 1's row
    if not row and not numbers(" ".join(_VALUE_IN_QUESTION.findall(_POINTER.sub(" ", what.measure)))) <= numbers(f"{near} {sentence}"):
        # a value the question names sets which result it asks about: "... to reach its 69.8%
        # accuracy?" is not answered by "... to reach the 72.2% accuracy" (not counts and years:
        # "10000 horsepower" is written "10,000 hp", "the 17th century" as "1672")
        return False
    if what.kind == "quantity" and not row and not given_counts(_POINTER.sub(" ", what.measure)) <= stated_counts(_POINTER.sub(" ", f"{near} {sentence}")):
        return False  # "How many GPU hours ... with only 5 passages?": not the run with 100 passages
    named = {p for n in what.names for p in n.parts}
    exact = frozenset(c for c in _compounds(what.measure) if re.split(r"[-@]", c)[0] not in named)  # not "Llama-2"
    said = _compounds(sentence) or (_compounds(near) if row else frozenset())
    if exact and not exact & said:
        return False  # "top-1 error" is not stated by "top-5 error of 4.49%"
    if row and exact and _blank(exact, sentence, _split_words(what.measure)):
        return False  # "GoogLeNet ensemble: ... Top-1 error - · Top-5 error 6.67%" gives no top-1 error
    if row and exact and not _kind_of_measure(what.measure) <= stems_of(f"{near} {sentence}"):
        return False  # "top-5 localization error" is not stated by a row of top-5 (classification) errors
    asked_split = _splits(what.measure)
    if asked_split and (stated_split := _splits(sentence) or (_splits(near) if row else frozenset())) and not asked_split & stated_split:
        return False  # "test error" is not stated by "training error <0.1%", nor by a row of validation errors
    named = not what.focus or bool(what.focus & words)
    return named and counts(what, sentence)


_VALUE_IN_QUESTION = re.compile(r"(?<![\w.])\d{1,4}\.\d{1,4}\s?%?|(?<![\w.])\d{1,4}\s?%")
# The two ends of a history: a date asked of its first event is not one of its last, nor the reverse.
_FIRST = re.compile(r"\b(?:first|earliest|original|originally|initial|initially)\b", re.I)
_LAST = re.compile(r"\b(?:last|latest|most\s+recent|most\s+recently|lately)\b", re.I)


# A limit and a default are different values of the same setting.
_LIMITS = re.compile(r"\b(?:maximum|minimum|max|min|at\s+most|at\s+least|up\s+to|limit(?:ed|s)?|maximal|minimal)\b", re.I)
_DEFAULT = re.compile(r"\bdefaults?\b|\bby\s+default\b", re.I)


def _other_limit(question: str, sentence: str) -> bool:
    """Whether `sentence` gives the default where the question asks a limit, or the reverse."""
    if _LIMITS.search(question):
        return bool(_DEFAULT.search(sentence)) and not _LIMITS.search(sentence)
    return bool(_DEFAULT.search(question) and _LIMITS.search(sentence) and not _DEFAULT.search(sentence))


def _other_end(question: str, sentence: str) -> bool:
    """Whether `sentence` dates the other end of the history `question` asks about: "When was
    the first version published?" and "This is version 0.21, last updated 2 October 2018"."""
    for asked_end, other in ((_FIRST, _LAST), (_LAST, _FIRST)):
        if asked_end.search(question) and not asked_end.search(sentence) and other.search(sentence):
            return True
    return False


def _values_of_measure(what: Asked, sentence: str) -> bool:
    """Whether `sentence` has a number that can be a value of the asked measure. A number made an
    adjective ("this 1202-layer network", "10-crop testing") counts what its word names, not an
    error or a rate, unless that word is what is asked ("How many layers ...": "a 34-layer net").
    An error, accuracy or other ratio is written with a percent sign, a decimal point or "percent"
    ("7.93%", "0.25", "45 percent"): a bare count ("50k training images") is not one."""
    adjectives = _NUMBER_ADJECTIVE.sub(lambda m: m.group() if stems_of(m.group(1)) & what.focus else " ", sentence)
    if not states(what.kind, adjectives):
        return False
    if _DURATION_ASKED.search(what.measure) and not _DURATION.search(adjectives):
        return False  # "How long did it take to train it?" is not answered by a row of its scores
    if _FREQUENCY_ASKED.search(what.measure) and not _FREQUENCY.search(adjectives):
        return False  # "How often are checkpoints evaluated?" is not answered by a row of scores
    if _TIMES_ASKED.search(what.measure) and not _TIMES.search(adjectives):
        return False  # "How many times fewer steps ...?" is not answered by "... after 31 · 106 steps"
    if _SHARE_ASKED.search(what.measure) and not _SHARE.search(_OTHER_MEASURE.sub(" ", adjectives)):
        return False  # "What percentage of the training steps ...": "... 14 times fewer steps ... 72.2% accuracy"
    if not _RATIO_ASKED.search(what.measure):
        return True
    return bool(_RATIO_VALUE.search(_POINTER.sub(" ", without_citations(adjectives))))


# "1202-layer", "10-crop", "3-layer": a number that is an adjective of the word joined to it.
_NUMBER_ADJECTIVE = re.compile(r"(?<![\w.])\d{1,6}(?:[.,]\d{1,3})?[-‐]([a-z]{2,20})\b")
# Measures that are ratios: stated with "%", a decimal point or "percent", never as a bare count.
_RATIO_ASKED = re.compile(
    r"\b(?:error|errors|accuracy|accuracies|precision|recall|f1|exact\s+match|em|pass@\d+|top-\d+|bleu|map|percentage|auc)\b",
    re.IGNORECASE,
)
# A question about how much time something took, and the units such a time is given in.
_DURATION_ASKED = re.compile(r"\bhow\s+long\s+(?:did|does|do|will|would|can|could)\b.{0,200}?\btake\b|\bhow\s+much\s+time\b", re.I)
# "How often": a frequency is stated as a period or a rate ("every 500 steps", "twice a day").
_FREQUENCY_ASKED = re.compile(r"\bhow\s+often\b|\bhow\s+frequently\b", re.I)
_FREQUENCY = re.compile(
    r"\b(?:every|each|per|times|once|twice|thrice|daily|weekly|monthly|yearly|annually|hourly|nightly"
    r"|interval|intervals|frequency|after|a\s+(?:second|minute|hour|day|week|month|year))\b|/\s?(?:s|h|day|week|month|year)\b",
    re.IGNORECASE,
)
_DURATION = re.compile(
    r"\b(?:seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?|decades?|centur(?:y|ies)|epochs?"
    r"|steps?|iterations?|updates?)\b|\d\s?(?:s|ms|h|d)\b",
    re.IGNORECASE,
)
# "How many times fewer/faster ...": a multiple is stated as one ("5 times fewer", "14x", "twice").
_TIMES_ASKED = re.compile(r"\bhow\s+many\s+times\s+(?:more|less|fewer|faster|slower|larger|smaller|higher|lower|bigger)\b", re.I)
_TIMES = re.compile(r"\d\s*(?:times|×|x)(?!\w)|\b(?:twice|thrice|double|triple|quadruple|half)\b", re.I)
# A share of something ("What percentage of the training steps ...") is stated as one: "7% of the
# training steps", "for 96.93% of repositories", "half of", "one third of".
_SHARE_ASKED = re.compile(r"\b(?:percentage|percent|fraction|share|proportion)\s+of\b", re.IGNORECASE)
_SHARE = re.compile(
    r"\d\s?(?:%|percent\b|per\s?cent\b)|\b(?:half|third|quarter|fourth|fifth|sixth|eighth|tenth|fraction|share|proportion)s?\b"
    r"|\d\s?/\s?\d",
    re.IGNORECASE,
)
# A percentage that is another measure's value ("the 72.2% accuracy", "4.82% top-5 error"): not a share.
_OTHER_MEASURE = re.compile(
    r"\d[\d.,]*\s?%\s+(?:(?:top-\d+|single-model|test|validation|training|val)\s+){0,2}(?:accuracy|error|precision|recall|f1|em)\b",
    re.IGNORECASE,
)
_RATIO_VALUE = re.compile(r"\d\s?(?:%|percent\b|per\s?cent\b)|\d[.,]\d|(?<![\w.])\.\d")


# A change rather than a value: "reduces the error by 3.5%", "a 6% increase", "+24.8", "a 28%
# relative improvement"; the answer to a question about a change ("How much does it improve ...?").
_CHANGE = re.compile(
    r"\b(?:by|(?:increase|improvement|gain|reduction|decrease|drop|boost)\s+of)\s+(?:about\s+|around\s+|nearly\s+|almost\s+|over\s+)?"
    r"[+−-]?\d[\d.,]*\s?(?:%|percent|points?|pp)?"
    r"|(?<![\w.])[+−]\d[\d.,]*"
    r"|\b\d[\d.,]*\s?(?:%|percent|points?)?\s(?:relative\s|absolute\s)?(?:increase|improvement|gain|reduction|decrease|drop|boost)\b"
    r"|\b\d[\d.,]*\s?(?:times|x|×)\s(?:faster|slower|more|fewer|less|larger|smaller|higher|lower|bigger|longer|shorter)\b",
    re.IGNORECASE,
)
_CHANGE_ASKED = re.compile(
    r"\b(?:improve\w*|increase\w*|reduc\w*|decreas\w*|gain\w*|drop\w*|boost\w*|fewer|more|less|better|worse|(?-i:faster)"
    r"|slower|higher|lower|change\w*|differ\w*|compared?|relative|outperform\w*|speed-?up)\b|\bhow\s+much\b",  # not "Faster R-CNN"
    re.IGNORECASE,
)
# ("Top-5 error" in a table's header too; not names such as "CIFAR-10", "ResNet-50", "VGG-16")
_COMPOUND_NAME = r"(?<![\w@.-])(?:[a-z]{1,12}|[A-Z][a-z]{1,11})(?:-\d{1,4}|@\.?\d{1,3})"
_COMPOUND = re.compile(_COMPOUND_NAME + r"(?![\w@-])")


# Which data a measure is taken on: a test error is not a training error.
_SPLIT_NAMES = "test|testing|train|training|validation|val|dev|development"
_SPLIT = re.compile(
    rf"\b({_SPLIT_NAMES})\s+(?:set\s+)?(error|accuracy|loss|perplexity|score)s?\b",
    re.IGNORECASE,
)
_SPLIT_OF = {"testing": "test", "train": "training", "val": "validation", "dev": "validation", "development": "validation"}


@functools.lru_cache(maxsize=65536)
def _blank(asked: frozenset[str], row: str, split: frozenset[str] = frozenset()) -> bool:
    """Whether a table row's cells under the asked measure hold no number ("Top-1 error -"), and of
    those, the cells of the asked data `split` where the row has them ("top-5 localization err val
    - · top-5 localization err test 26.7" gives no validation error)."""
    cells = [c for c in row.partition(LABEL_SEP)[2].split(CELL_SEP) if _compounds(c) & asked]
    cells = [c for c in cells if _split_words(c) & split] or cells
    return bool(cells) and not any(re.search(r"\d", _COMPOUND.sub(" ", c)) for c in cells)


# A word between a measure's name and what it measures says which kind it is: "top-5 localization
# error" (a data split is no kind: "top-1 validation error" is `_splits`' business).
_MEASURE_KIND = re.compile(_COMPOUND_NAME + r"\s+([a-z]{4,20})\s+(?:error|accuracy|err|rate|score|loss)s?\b", re.IGNORECASE)


def _kind_of_measure(question: str) -> frozenset[str]:
    """The stems of the words that say which kind of measure `question` asks ("localization")."""
    words = {m.group(1).casefold() for m in _MEASURE_KIND.finditer(question)}
    words = {w for w in words if not _split_words(w)}
    return stems_of(" ".join(sorted(words))) if words else frozenset()


_SPLIT_WORD = re.compile(rf"\b(?:{_SPLIT_NAMES})\b", re.IGNORECASE)


def _split_words(text: str) -> frozenset[str]:
    """The data splits `text` names ("val" is "validation")."""
    return frozenset(_SPLIT_OF.get(w.casefold(), w.casefold()) for w in _SPLIT_WORD.findall(text))


def _splits(text: str) -> frozenset[tuple[str, str]]:
    """The (data split, measure) pairs `text` names: "top-5 validation error" is ("validation", "error")."""
    return frozenset(
        (_SPLIT_OF.get(m.group(1).casefold(), m.group(1).casefold()), m.group(2).casefold()) for m in _SPLIT.finditer(text)
    )


@functools.lru_cache(maxsize=65536)
def _compounds(text: str) -> frozenset[str]:
    """Lower-case words joined to a number that name a measure ("top-1", "top-5", "pass@1"): one
    measure is not another, however many words they share."""
    return frozenset(m.group().casefold() for m in _COMPOUND.finditer(text))


@functools.lru_cache(maxsize=65536)
def stems_of(text: str) -> frozenset[str]:
    """Stems of `text` with Greek letters spelt out and table headers' abbreviations in full."""
    if not text:
        return frozenset()
    return stems(_with_kinds(_ABBREVIATED.sub(lambda m: _IN_FULL[m.group(1).casefold()], text.translate(_GREEK))))


# Accelerators are named by model more often than called GPUs: "using 64 Tesla V100 32Gb" says how
# many GPUs, and which. Read with the word they are instances of.
_ACCELERATOR = re.compile(
    r"\b(?:(?:NVIDIA\s+|Tesla\s+|GeForce\s+)?(?:[AHVPK]\d{2,3}|T4|L4|L40S?|RTX\s?\d{4}|GTX\s?\d{3,4})(?:\s?\d{1,3}\s?GB)?)(?!\w)",
    re.IGNORECASE,
)


def _with_kinds(text: str) -> str:
    return _ACCELERATOR.sub(lambda m: f"{m.group()} GPU", text)


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


_HOW_MANY_ASKED = re.compile(r"\bhow\s+many\b", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+(?:[.,]\d+)*")
_COUNT_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen
    eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands
    million millions billion billions trillion trillions dozen dozens single several""".split()  # noqa: SIM905
)
_GENERIC_COUNTED = frozenset("people persons individuals men women members inhabitants residents".split())  # noqa: SIM905
_COUNTED_OF = re.compile(r"\bhow\s+many\s+([\w-]+(?:\s+[\w-]+)?)\s+of\b", re.IGNORECASE)
_COUNTED_WITHIN = 4  # words between a number and what it counts: "64 Tesla V100 32Gb GPUs" is 4


def counts(what: Asked, sentence: str) -> bool:
    """Whether `sentence` gives a number of what a "how many" question counts: a number a few
    words before one of its words ("4.3 trillion tokens", "a 1202-layer network", "two GPUs") or
    right after it ("parameters: 25M"). "C is better than B, due to the extra parameters introduced
    by many (thirteen) projection shortcuts" counts shortcuts, not parameters. Any other question
    (and one that names no counted thing): True."""
    if not what.focus or not _HOW_MANY_ASKED.search(what.measure):
        return True
    words = _WORD.findall(_POINTER.sub(" ", _with_kinds(sentence.translate(_GREEK))))
    # "How many rounds of Evol-Instruct evolution ...?" counts rounds: "two evolution lines" does not
    head = _COUNTED_OF.search(what.measure)  # (of a unit, what it measures: "pounds of steam")
    focus = (stems(head.group(1)) & what.focus) if head and not is_unit(head.group(1).split()[0]) else frozenset()
    counted = [bool(stems_of(w) & (focus or what.focus)) for w in words]
    def before(i: int) -> int:
        # "Huguenot refugees, an estimated total of 75,000 to 100,000 people": a number of people
        # may count what was named a few words before it
        generic = i + 1 < len(words) and words[i + 1].casefold() in _GENERIC_COUNTED
        return 8 if generic else 3

    return any(
        (any(c.isdigit() for c in w) or w.casefold() in _COUNT_WORDS)
        and (any(counted[i + 1 : i + 1 + _COUNTED_WITHIN]) or any(counted[max(0, i - before(i)) : i]))
        for i, w in enumerate(words)
    )


def symbol_stems(symbols: tuple[str, ...]) -> frozenset[str]:
    """Symbols as `answers` reads them in a sentence ("α" is "alpha")."""
    return stems_of(" ".join(symbols))
