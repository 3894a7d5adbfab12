"""Release notes (NEWS files, changelogs): a change is listed under the heading of its release
("* Noteworthy changes in release 4.6 (2018-12-19) [stable]", "version 1.31 - Sergey
Poznyakoff, 2019-01-02"), and the line that lists it ("New option, --debug: ...") names no
version. "Which sed release introduced the --debug option?" is answered by the two together: the
line that names what the question names, and the heading above it in the same passage, both
quoted. Pure functions over text, linear patterns."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence

from citeqa.answer.stated import states
from citeqa.answer.versions import asked_version, states_version
from citeqa.core import bundled
from citeqa.core.types import Evidence, Hit

# A release's heading: a short line that starts with "release", "version", "changes in" (and the
# product: "Changes in Wget 1.20.3") or a NEWS file's "Noteworthy changes in release", and a version.
# (Markdown's: "### Major changes between OpenSSL 3.0.14 and OpenSSL 3.0.15 [3 Sep 2024]", the
# entry of 3.0.15, may follow a rule of dashes on its line once a PDF is read back.)
_HEADING = re.compile(
    r"^[ \t*#=-]{0,16}(?:noteworthy\s+changes\s+in\s+release|(?:user-visible\s+)?changes\s+in(?:\s+[A-Za-z][\w+-]{0,30}){0,2}?|release|version|v"
    r"|(?:major\s+)?changes\s+between(?:\s+[A-Za-z][\w+-]{0,30})?\s+v?\d{1,4}(?:\.\d{1,4}){1,3}[a-z]?\s+and(?:\s+[A-Za-z][\w+-]{0,30})?)"
    r"\s{0,3}v?(?P<version>\d{1,4}(?:\.\d{1,4}){1,3}[a-z]?)\b[^\n]{0,80}$",
    re.IGNORECASE | re.MULTILINE,
)
# The terms that tie a listed change to a question: an option ("--debug", "-K"), or a word that is
# no English word, written in lower case ("zstd", in "zstd-compressed archives"; not "LGPL", a name)
# or with a capital inside ("LoongArch").
_OPTION = re.compile(r"(?<![\w-])--?[A-Za-z][\w-]{0,40}")
_WORD = re.compile(r"(?<![\w-])[a-z][a-z0-9]{2,20}(?![\w])")
# and a name written with a capital inside it ("LoongArch", "PowerPC"): no English word either
_INNER_CAPITAL = re.compile(r"(?<![\w-])[A-Za-z][a-z]{1,20}[A-Z][A-Za-z0-9]{0,20}(?![\w-])")
# or an acronym or code that is no English word ("WARC", "HSTS", "CVE-2018-0494")
_UPPER = re.compile(r"(?<![\w-])[A-Z]{2,10}(?:-\d[\d-]*)?(?![\w-])")


# The product a version is asked or given of ("Which sed release ...", "... to build grep 3.8?").
_PRODUCT = re.compile(r"([\w.+-]+)\s+(?:(?:version|release|edition)s?\b|v?\d{1,4}(?:\.\d{1,4})+)", re.IGNORECASE)


@functools.lru_cache(maxsize=4096)
def key_terms(question: str, *, acronyms: bool = False) -> tuple[frozenset[str], frozenset[str]]:
    """The options of `question`, and its words that are no English word, less the product whose
    version it asks: a listed change must have every option, or where there is none, one such word."""
    options = frozenset(m.group().rstrip("-") for m in _OPTION.finditer(question))
    products = {m.group(1).casefold() for m in _PRODUCT.finditer(question)}
    words = bundled.embedder_words()
    rest = _OPTION.sub(" ", question)
    odd = frozenset(w for w in _WORD.findall(rest) if w.isalpha() and w not in words and w not in products)
    # (an acronym ties a listed change, "Add support for HSTS", not any sentence: "LGPL" is "GNU
    # Lesser General Public License" in a manual)
    named = _INNER_CAPITAL.findall(rest) + ([w for w in _UPPER.findall(rest) if w.casefold() not in words] if acronyms else [])
    return options, odd | frozenset(w.casefold() for w in named if w.casefold() not in products)


# A version question about a change: release notes list what was added, removed or changed. "What
# is the minimum Linux kernel version strace requires on sparc?" asks a value, not when something
# changed. ("When did quill get --trim?" asks when, always of a change.)
_CHANGE_ASKED = re.compile(
    r"\b(?:add(?:ed|s)?|introduc(?:ed|es?)|new|remov(?:ed|es?)|drop(?:ped|s)?|deprecat(?:ed|es?)|chang(?:ed|es?)"
    r"|fix(?:ed|es)?|gain(?:ed|s)?|bec[oa]me|renam(?:ed|es?)|appear(?:ed|s)?|support(?:ed|s)?|since|first)\b",
    re.IGNORECASE,
)


def lists_change(question: str, line: str, *, date: bool = False) -> bool:
    """Whether `line` lists a change that a question asking which release or version something
    changed in (citeqa.answer.versions), or when (`date`), is about: it states no version
    (no date), and has every option of the question, or where there is none, one of its
    non-English words (`key_terms`)."""
    if not (date or _CHANGE_ASKED.search(question)) or not any(key_terms(question, acronyms=True)):
        return False
    if states("date", line) if date else asked_version(question) is None or states_version(question, line):
        return False
    return has_terms(question, line, acronyms=True)


# The version a question gives: "When did strace 5.10 come out?"
_VERSION_GIVEN = re.compile(r"(?<![\w.])v?(\d{1,4}(?:\.\d{1,4}){1,3})(?![\w.]*\d)")


@functools.lru_cache(maxsize=4096)
def given_version(question: str) -> str | None:
    """The one version `question` gives ("5.10" in "When did strace 5.10 come out?"), if one."""
    given = {m.group(1) for m in _VERSION_GIVEN.finditer(question)}
    return given.pop() if len(given) == 1 else None


def release_heading(question: str, text: str) -> tuple[int, int] | None:
    """For "When did strace 5.10 come out?", the span in `text` of the release heading of that very
    version that states its date ("Noteworthy changes in release 5.10 (2020-12-14)"; not 5.1's)."""
    if (given := given_version(question)) is None:
        return None
    for m in _HEADING.finditer(text):
        if m.group("version") == given and states("date", m.group()):
            return m.start(), m.end()
    return None


@functools.lru_cache(maxsize=65536)
def has_terms(question: str, line: str, *, acronyms: bool = False) -> bool:
    """Whether `line` has the key terms of `question` (`key_terms`): every option, written exactly
    ("-J" is not "-j"), or where there is none, one of its non-English words. True of questions
    with none. "Which sed release introduced the --debug option?" is not answered by a release
    heading that lists other changes."""
    options, odd = key_terms(question, acronyms=acronyms)
    if options:
        return all(re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", line) for t in options)
    folded = line.casefold()
    return not odd or any(re.search(rf"(?<![\w-]){re.escape(t)}(?![\w])", folded) for t in odd)


# A document with fewer release headings than this is no release notes: a manual's "Version 3.8"
# title line does not date every feature it describes.
MIN_HEADINGS = 3


def heading_above(
    question: str, passages: Sequence[Hit], hit: Hit, start: int, *, date: bool = False
) -> tuple[Hit, tuple[int, int]] | None:
    """The release heading that the line at `start` of `hit` is listed under: the last one above it
    in its document (`passages`, in reading order), in that passage or one before it, when the
    document is release notes (MIN_HEADINGS) and the heading states a version the question does not
    give (a date, for a `date` question). The passage it is in, and its span there."""
    headings = [(p, m) for p in passages for m in _HEADING.finditer(p.text)]
    at = next((i for i, p in enumerate(passages) if p.chunk_id == hit.chunk_id), None)
    if at is None or len(headings) < MIN_HEADINGS:
        return None  # the line's own passage is not among the document's, or it is no release notes
    before = {p.chunk_id for p in passages[:at]}
    found = [(p, m) for p, m in headings if p.chunk_id in before or (p.chunk_id == hit.chunk_id and m.end() < start)]
    if not found:
        return None
    head, m = found[-1]
    says = states("date", m.group()) if date else states_version(question, m.group())
    return (head, (m.start(), m.end())) if says else None


def notes_of(question: str, passages: Sequence[Hit]) -> bool:
    """Whether a document (its `passages`) is the release notes of the product whose version
    `question` gives: it has MIN_HEADINGS release headings and names the product ("strace" in "When
    did strace 5.10 come out?"), so another program's release 5.10 does not answer."""
    products = {m.group(1).casefold() for m in _PRODUCT.finditer(question)} - {"version", "release"}
    if sum(1 for p in passages for _ in _HEADING.finditer(p.text)) < MIN_HEADINGS:
        return False
    return not products or any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", p.text.casefold()) for w in products for p in passages)


def entry_at(text: str, start: int) -> str | None:
    """The release entry of `text` that opens with the heading at `start` (up to the next release
    heading), or None where no heading opens there or the entry runs on past the passage."""
    heading = _HEADING.match(text, text.rfind("\n", 0, start) + 1)  # (its line may open with "* ")
    if heading is None or heading.end() <= start:
        return None
    after = _HEADING.search(text, heading.end())
    return text[start : after.start()] if after else None


def other_entry(question: str, text: str, start: int, end: int, above: Sequence[Hit] = ()) -> bool:
    """Whether the sentence at start:end of `text` is listed in the release entry of another
    version than the one `question` gives: under the last release heading above it (in `text`, or
    in the passages `above` it, in reading order) that is not of that version, while the sentence
    does not name it either. "The most severe CVE fixed in this release is Low." under 3.0.16's
    heading says nothing of OpenSSL 3.0.14; nor does "Changes between 3.0.14 and 3.0.15", 3.0.15's."""
    if (given := given_version(question)) is None:
        return False
    own = list(_HEADING.finditer(text, 0, end))
    heading = own[-1] if own else next((m for p in reversed(above) for m in reversed(list(_HEADING.finditer(p.text)))), None)
    if heading is None or heading.group("version") == given or heading.group("version").startswith(f"{given}."):
        return False  # (its version, or one of its series: 3.0.0 is of "OpenSSL 3.0")
    if own and start <= heading.start():
        return True  # the heading itself
    return given not in {v.group(1) for v in _VERSION_GIVEN.finditer(text[start:end])}


def in_given_release(question: str, evidence: Sequence[Evidence], passages: Callable[[str], Sequence[Hit]]) -> tuple[Evidence, ...]:
    """`evidence` less the sentences of release notes (MIN_HEADINGS) listed under another version's
    heading than the version `question` gives (`other_entry`), the heading a passage or more before
    theirs (a passage of release notes often starts inside an entry). `passages`: a document's."""
    if given_version(question) is None:
        return tuple(evidence)
    keep = []
    documents: dict[str, tuple[list[Hit], bool]] = {}  # each document read once: its passages, and whether it is release notes
    for e in evidence:
        if e.hit.source not in documents:
            doc = list(passages(e.hit.source))
            documents[e.hit.source] = doc, sum(1 for p in doc for _ in _HEADING.finditer(p.text)) >= MIN_HEADINGS
        doc, notes = documents[e.hit.source]
        at = next((i for i, p in enumerate(doc) if p.chunk_id == e.hit.chunk_id), None)
        if at is None or not notes or not other_entry(question, e.hit.text, e.start, e.end, doc[:at]):
            keep.append(e)
    return tuple(keep)
