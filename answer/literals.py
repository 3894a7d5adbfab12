"""What a question gives or asks for as literal text: a quoted string ("In the example that times
'wc /etc/hosts', ...") picks the passage it asks about, and "Which option / environment variable /
format specifier ...?" asks for a name written as code ("--time-unit=B", "BC_ENV_ARGS", "%M").
Pure functions over text; every pattern is linear in its input (bounded repetitions)."""

from __future__ import annotations

import functools
import re

from citeqa.answer.asked import normalised


def _asks_for(things: str, *, what_is: bool = False) -> re.Pattern[str]:
    """"Which|What [is the] <up to three words> <thing>(s)": a question that asks for one of `things`."""
    is_the = r"(?:\s+(?:is|are|was|were)\s+the)?" if what_is else ""
    return re.compile(
        rf"\b(?:which|what){is_the}\s+(?:(?!(?:is|was|are|were|do|does|did|can|should|must)\b)[\w-]+\s+){{0,3}}?(?:{things})s?\b",
        re.IGNORECASE,
    )


# "Which option ...", "What environment variable ...", "Which format specifier ...": a name that
# is written as code. Not "variable" alone: papers ask "Which variables are normalized?" of
# symbols written as math.
_ASKS_CODE = _asks_for(r"option|flag|specifier|environment\s+variable|macro|placeholder")
# A name written as code: an option ("-i", "--no-ignore-case", "--time-unit=B"), a format
# specifier ("%M"), a name with an underscore ("BC_ENV_ARGS", "asn1_der_decoding"), a word in
# capitals ("TIME", "FC_DEBUG"), a call ("wait3()") or a setting ("max_tokens=").
_CODE = re.compile(
    r"(?<![\w-])--?[A-Za-z][\w-]{0,40}(?:=\S{1,40})?"
    r"|%[A-Za-z]"
    r"|\b[A-Za-z][A-Za-z0-9]{0,40}_[\w]{1,40}"
    r"|\b[A-Z][A-Z0-9]{1,40}\b"
    r"|\b\w{1,40}\(\)"
    r"|\b\w{1,40}="
)
# A quoted string of the question: 'sleep 4', "wc /etc/hosts", `make -j`. An apostrophe after a
# letter ("the manual's example") opens nothing. Only literal text counts, with a digit or a sign
# that words do not have: a quoted title or term ("On the Computational Complexity of Algorithms",
# "Huguenot") names a subject, and SQuAD answers it sentences away from where the title is given.
_QUOTED = re.compile(r"(?<!\w)['‘\"“`]([^'‘’\"“”`\n]{2,80})['’\"”`](?!\w)")
_LITERAL = re.compile(r"[\d/\\=_<>|$%*~#{}\[\]]|(?<!\w)-|\w\.\w")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})


# "Which directory ...?", "What is the default path of ...?": a path written as one ("/usr/share/omf",
# "~/.lsof_host", "$HOME/.cache"), which "See the DEVICE CACHE PATH (DEFAULT) section" does not give.
_ASKS_PATH = _asks_for("path|directory|folder", what_is=True)
_PATH = re.compile(r"(?<![\w/])(?:~|\$\{?\w{1,30}\}?|\.{1,2}|[A-Za-z]:)?[/\\][\w.-]{1,80}")


@functools.lru_cache(maxsize=65536)
def states_path(question: str, sentence: str) -> bool:
    """Whether `sentence` writes a path, where `question` asks for a directory or path (True of
    other questions)."""
    return not _ASKS_PATH.search(question) or _PATH.search(sentence) is not None


def asks_code(question: str) -> bool:
    """Whether `question` asks for a name written as code (an option, a variable, a specifier)."""
    return bool(_ASKS_CODE.search(question))


@functools.lru_cache(maxsize=65536)
def states_code(question: str, sentence: str) -> bool:
    """Whether `sentence` answers a question for an option, variable or specifier: it writes one
    as code that the question does not ("Which option overrides an earlier -i?" is not answered by
    a sentence that only repeats "-i"). True of questions that ask for no such name."""
    if not asks_code(question):
        return True
    given = {m.casefold() for m in _CODE.findall(question)}
    return any(m.casefold() not in given for m in _CODE.findall(sentence))


def _plain(text: str) -> str:
    return normalised(text.translate(_QUOTES))


@functools.lru_cache(maxsize=4096)
def quoted(question: str) -> tuple[str, ...]:
    """The quoted strings of `question`, as the documents would print them."""
    found = (q.strip().rstrip("?!.,;:") for q in _QUOTED.findall(question))
    return tuple(q for q in found if _LITERAL.search(q))


@functools.lru_cache(maxsize=65536)
def gives_quoted(question: str, text: str) -> bool:
    """Whether `text` (a sentence with those before it) holds every string `question` quotes: the
    value asked "in the example that times 'wc /etc/hosts'" is not that of another example."""
    strings = quoted(question)
    if not strings:
        return True
    plain = _plain(text)
    return all(_plain(s) in plain for s in strings)
