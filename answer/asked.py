"""What a question asks, read without a model: its subject (the names it asks about, see
citeqa.answer.names), the kind of answer it wants (a quantity, a date, a name) and the words that
name the asked thing ("What dropout rate ...": dropout). Follow-ups ("And for ResNet-152?", "And
when was that measured?") are read together with the question before them (`asked`). Whether a
sentence states what was asked is citeqa.answer.stated's. Pure functions over text, cached.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from citeqa.answer.conversation import is_followup, previous_question
from citeqa.answer.evidence_text import asks_quantity, stems
from citeqa.answer.mentions import CONTEXT, TOKEN, Name, names
from citeqa.core.types import History

AnswerType = Literal["quantity", "date", "person", "other"]


# "When was/did ...", "In what year ...": a date. Not "When is it divided by 10?" (a condition:
# "when the error plateaus"), nor "When extensive time is required ..., what
# ...?" (a clause), "When do treaties apply?" (a condition), nor "What time of day ..." (an hour or
# a part of the day).
_DATE = re.compile(
    r"^\s*(?:(?:and|but|so|then|since|from|until|till)\s+)?when(?:\s+(?:did|was|were|will|had|has|exactly)\b"
    r"|\s*\?|$)"
    r"|\b(?:what|which)\s+(?:year|date|month|day|century|decade)\b|\bwhat\s+time\s+of\s+(?:the\s+)?day\b",
    re.IGNORECASE,
)
_VERBS = r"(?:do|does|did|is|are|was|were|has|have|had|can|could|will|would|should|must|might|may)"
# Quantities that citeqa.answer.evidence_text's question forms (calibrated for scoring) leave out:
# a measure named a few words after "what" or "which" ("What dropout rate ...", "Which top-5 error ...").
_MEASURE = re.compile(
    r"\b(?:what|which)\s+(?:(?!" + _VERBS + r"\b)[\w@.+-]+\s+){0,2}?(?:rate|size|value|number|amount|error|accuracy|score|depth|width"
    r"|height|length|ratio|percentage|proportion|fraction|count|loss|dimension|budget|cost|price|temperature|speed|stepsize"
    r"|distance|weight|capacity|decay|momentum|duration|latency|throughput|perplexity|bleu|f1|auc|map|em|exact\s+match|pass@\d+"
    # a software setting's level ("What compression level", "What debhelper compat level"), and
    # numbers a system assigns ("What uid does www-data have?", "Which port ...")
    r"|level|uid|gid|pid|port|(?:exit|event)\s+(?:code|status)|interval|timeout|delay|threshold|deviation|variance|quality)s?\b",
    re.IGNORECASE,
)
# A parameter named by its symbol asks for its value: "What is the default epsilon in Adam?",
# "Which beta2 ...", "What λ ...".
_PARAMETER = re.compile(
    r"\b(?:what|which)\s+(?:(?:default|initial|recommended|suggested|typical|final|best|optimal)\s+)?(?:value\s+of\s+)?"
    r"(?:alpha|beta|gamma|delta|epsilon|eta|lambda|mu|sigma|tau|rho|omega|theta|[αβγδεϵηλμστρωθ])_?\d?\b",
    re.IGNORECASE,
)
# A limit asks for a value: "What is the maximum indent a rule may have?"
_LIMIT = re.compile(r"\b(?:what|which)\s+(?:maximum|minimum|max|min)\b", re.I)
_PERSON = re.compile(r"^\s*(?:who|whom|whose)\b|\bby\s+whom\b", re.IGNORECASE)
# The asked thing of a quantity question: the words after "how many/much", or between "what/which"
# and the type word ("What dropout rate ...": dropout), up to the verb.
_HOW_MANY = re.compile(
    # up to the verb, or the clause that says what the counted things did ("How many GPUs used
    # to train it?", "Number of GPUs that were used")
    r"\bhow\s+(?:many|much)\s+(?P<what>(?:(?!(?:" + _VERBS + r"|used|needed|required|to|that|which|who)\b)[\w@.+-]++\s*){0,6})",
    re.I,
)
_WHAT_TYPE = re.compile(
    r"\b(?:what|which)\s+(?P<what>(?:(?!" + _VERBS + r"\b)[\w@.+-]++\s*){1,6}?)"
    r"\s*(?:(?:" + _VERBS + r"|of|for|in|on|at|to|by|with|from)\b|\?|$)",  # "And what momentum?"
    re.I,
)
# "What value of beta2 ...": the asked thing is what the type word is of.
# It ends where a clause about it starts: "the maximum number of elements [a Rust tuple can have]".
_OF_WHAT = re.compile(
    r"\s*of\s+(?:the\s+|a\s+|an\s+)?(?P<what>(?:(?!(?:" + _VERBS
    + r"|a|an|the|this|that|these|those|each|every|its|their|our|your|my|his|her|which|who|whom|whose|we|you|it|they|i)\b)"
    r"[\w@.+-]++\s*){1,4})",
    re.I,
)
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
# Words that say which of a thing's values is asked, not what thing: "What default step size ..."
# asks a step size, and "We use a batch size of 128 by default" does not state one.
_WHICH_VALUE = frozenset(stems("default typical usual standard recommended suggested good best approximate estimated"))
# Follow-ups that only name a new subject: "And for ResNet-152?", "What about the 34-layer net?"
_SUBJECT_SWAP = re.compile(
    r"(?:and|but|also)?\s*(?:what|how)?\s*(?:about\s+)?(?P<prep>for|with|of|in|on|at|by|from|over|against)?\s+(?P<what>.+)", re.I
)
_ASKS = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b", re.I)


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
    # The question's own text for what it measures ("top-1 error"): a follow-up that asks its own
    # question is measured by its own words, not by those of the question before it.
    measured: str = ""
    previous_focus: frozenset[str] = frozenset()  # what the question a follow-up follows asked the value of

    @property
    def measure(self) -> str:
        """The words that say what the question measures: its own, or the follow-up's own."""
        return self.measured or self.question

    # Read once per question, not once per candidate sentence (evidence selection asks for each).
    @functools.cached_property
    def previous_quotes(self) -> frozenset[str]:
        """The sentences quoted in the previous answer (“...”), normalised."""
        return frozenset(normalised(q) for q in QUOTED.findall(self.previous_answer))

    @functools.cached_property
    def previous_text(self) -> str:
        """The previous answer, normalised (`normalised`)."""
        return normalised(self.previous_answer)


# "What is the top-1 error of ..." asks what "What top-1 error of ..." asks.
_WHAT_IS_THE = re.compile(r"\b(what|which)\s+(?:is|was|are|were)\s+(?:the|a|an)\s+", re.IGNORECASE)


# A question written as its subject line: "Number of GPUs used to train it?" asks how many.
_NUMBER_OF = re.compile(r"^\s*(?:the\s+)?(?:total\s+)?(?:(number|count)|amount)\s+of\b", re.IGNORECASE)


def _plainly(question: str) -> str:
    question = _NUMBER_OF.sub(lambda m: "How many" if m.group(1) else "How much", question)
    return _WHAT_IS_THE.sub(r"\1 ", question)


@functools.lru_cache(maxsize=4096)
def answer_type(question: str) -> AnswerType:
    question = _plainly(question)
    if _DATE.search(question):
        return "date"
    # citeqa.answer.evidence_text's forms count "when" anywhere; "What does it mean when ..." asks
    # no quantity
    if asks_quantity(re.sub(r"\bwhen\b", " ", question, flags=re.I)) or any(p.search(question) for p in (_MEASURE, _PARAMETER, _LIMIT)):
        return "quantity"
    if _PERSON.search(question):
        return "person"
    return "other"


@functools.lru_cache(maxsize=4096)
def focus(question: str) -> frozenset[str]:
    """The stems that name what a quantity question asks the value of ("How many parameters ...":
    paramet; "What dropout rate ...": dropout), without the question's names; empty when the
    question names nothing more ("How many?")."""
    found = _phrase(_plainly(question))
    if found is None:
        return frozenset()
    phrase, verb = found
    phrase = " ".join(w for w in TOKEN.findall(phrase) if not stems(w) & _WHICH_VALUE)
    # "How many days ...", "How many times ...": what is counted, type word or not
    verb = verb or bool(_HOW_MANY.search(question))
    chosen = set(_asked_words(question, phrase, verb))
    # "step size" is also written "stepsize"
    parts = [w for w in TOKEN.findall(phrase) if stems(w)]
    if chosen and len(parts) >= 2:
        chosen |= stems(parts[0] + parts[1])
    return frozenset(chosen)


def _asked_words(question: str, phrase: str, verb: bool) -> frozenset[str]:
    words = stems(phrase)
    for n in names(question):
        words -= stems(" ".join(n.parts))
    # "What year ...", "What rate ...": a type word alone names no asked thing; any value will do
    return frozenset(words if verb else words - _TYPE_WORDS)


def asked_phrase(question: str) -> str:
    """The words that name what a question asks the value of, as written ("What default step
    size does AdaMax use?": "default step size"), without its names; "" if none."""
    found = _phrase(_plainly(question))
    if found is None:
        return ""
    named = {p for n in names(question) for p in n.parts}
    return " ".join(w for w in TOKEN.findall(found[0]) if w.casefold() not in named)


def _phrase(question: str) -> tuple[str, bool] | None:
    """The phrase of `question` that names the asked thing, and whether it is a verb's ("How much
    did it cost"); None when it names none."""
    if _HOW_ADJECTIVE.search(question):
        # "How large was the first version of The Stack?": a size is stated in its units ("a 6.4
        # TB dataset"), seldom with the adjective; any number will do.
        return None
    m = _HOW_MANY.search(question) or _WHAT_TYPE.search(question)
    if m is None:
        return None
    phrase = m.group("what")
    last = TOKEN.findall(phrase)[-1:]
    if m.re is _WHAT_TYPE and last and stems(last[0]) <= _TYPE_WORDS:
        # "What value of beta2 ...", "What default value of epsilon ...", "What fraction of the
        # training steps ...": the asked thing is what the type word is of.
        of = _OF_WHAT.match(question, m.end("what"))
        phrase = of.group("what") if of else phrase
    if not phrase.strip() and m.re is _HOW_MANY:
        # "How much did it cost ...", "How much does TriviaQA accuracy improve when ...": the asked
        # thing is what follows the verb up to a preposition or clause, less pronouns and names.
        named = {p for n in names(question) for p in n.parts}
        rest = re.match(r"\s*\w+\s+(.*)", question[m.end() :])
        clause = re.split(r"\b(?:in|on|at|for|with|of|from|by|to|when|if|than|after|before)\b|[,;?]", rest.group(1) if rest else "")[0]
        return " ".join(w for w in TOKEN.findall(clause) if w.casefold() not in named), True
    return phrase, False


# A version ("1.1.0", "v2.3") or a size ("152-layer") that a follow-up swaps in
_NUMBERED = re.compile(r"(?<![\w.])v?\d{1,4}(?:\.\d{1,4}){1,3}[a-z]?(?![\w.]*\d)|(?<![\w.])\d{1,5}-[a-z]{3,12}\b")
_WHAT_ABOUT = re.compile(r"^\s*(?:and\s+)?(?:what|how)\s+about\b", re.I)


def _swapped_subject(question: str, previous: str) -> str | None:
    """The previous question about the follow-up's new name ("And for ResNet-152?" after "What
    top-5 error does ResNet-50 reach?": "What top-5 error does ResNet-152 reach?"), or None when
    the follow-up asks something of its own."""
    if _ASKS.search(_WHAT_ABOUT.sub("", question)):
        return None
    m = _SUBJECT_SWAP.fullmatch(question.strip().rstrip("?").rstrip())
    now, then = _NUMBERED.findall(question), set(_NUMBERED.findall(previous))
    if m and len(now) == 1 and len(then) == 1 and now[0].partition("-")[2] == (old := then.pop()).partition("-")[2]:
        # "What about 1.1.0?" after "When was OpenSSL 1.1.1 released?"; "And the 152-layer ResNet?"
        # after "... the 34-layer baseline ...?"
        return previous.replace(old, now[0], 1)
    new = [n for n in names(question) if n.preposition != "instead"]  # (not "instead of ReLU")
    if m is None or not new:
        return None
    old = names(previous)
    if not old:
        return f"{previous.rstrip(' ?')} for {m.group('what')}?"
    # "And on MATH?" after "... WizardMath reach on GSM8k?" swaps the context (GSM8k), not WizardMath
    preposition = (m.group("prep") or "").casefold()
    context = [n for n in old if n.context]
    target = context[0] if preposition in CONTEXT and context else next((n for n in old if not n.context), old[0])
    return previous.replace(target.text, new[0].text, 1)


def asked(question: str, history: History = (), *, followup: bool | None = None) -> Asked:
    """What `question` asks, read with the conversation before it when it cannot stand alone
    (`followup`: whether it follows on, if already decided; see citeqa.answer.conversation)."""
    previous = previous_question(history)
    if previous is None or not (is_followup(question) if followup is None else followup):
        return Asked(question, answer_type(question), focus(question), names(question))
    answer = next((c for role, c in reversed(list(history)) if role == "assistant"), "")
    before = answer_type(previous)
    swapped = _swapped_subject(question, previous)
    if swapped is not None:
        kind = answer_type(swapped)
        return Asked(swapped, kind, focus(swapped), names(swapped), answer, True, previous_kind=before, swapped_in=next(iter(names(question)), None))
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
        return Asked(f"{previous} {question.strip()}", kind, what, _names_of(question, previous), answer, True, also, before, previous_focus=focus(previous))
    return Asked(
        f"{previous} {question.strip()}", kind, what, _names_of(question, previous), answer, True,
        previous_kind=before, measured=question, previous_focus=focus(previous),
    )  # fmt: skip



def _names_of(question: str, previous: str) -> tuple[Name, ...]:
    """A follow-up's names: its own, or the previous question's subject where it names its subject
    by a pronoun ("How many times fewer steps than Inception did it need?" after BN-x30's accuracy)."""
    own = names(question)
    if own and not (all(n.preposition for n in own) and re.search(r"\b(?:it|its|they|their|them)\b", question, re.I)):
        return own
    return (*names(previous), *(Name(n.text, n.parts, True, n.preposition) for n in own))


QUOTED = re.compile(r"“([^”]{1,2000})”")


def normalised(text: str) -> str:
    """`text` with its white space folded and its case too, to compare quotes as shown."""
    return " ".join(text.split()).casefold()

