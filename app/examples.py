"""Example questions for the empty chat, drawn from the indexed documents without a model call.

Candidates come from a document's sentences worth quoting (those with a number first): the run of
adjacent content words rarest in the document names the topic ("What do the documents say about
the mean depth?" from "The mean depth of the lake is 18 metres."); then from its section headings
("What do the documents say about “Launch date”?"). Each candidate is asked as the chat asks it,
with generation off (retrieval and evidence only, a fraction of a second), and kept only if the
first quote comes from its document: best from the very sentence or section it was made from, else
one holding its topic's words (never a heading, nor a sentence that only lists sections). So every
example shown retrieves its own document and is answered by a quote at once. Computed once per
state of the index (`st.cache_data` on the documents' paths and versions) and configuration.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import streamlit as st

from citeqa.answer.citations import content_word_set
from citeqa.core.sentences import sentence_spans
from citeqa.core.types import DocumentRecord, Hit
from citeqa.engine import Citeqa

log = logging.getLogger(__name__)

SHOWN = 4  # examples offered
DOCS_TRIED = 6  # most recently ingested documents looked at
PER_DOC = 6  # candidates asked per document at most

_TERMINAL = tuple(".!?;,")
_BOILERPLATE = re.compile(
    r"arxiv|published as|proceedings|preprint|under review|conference|workshop|journal|copyright|©|doi|http", re.I
)
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2})*)\.?\s+(\S.*)$")
_GENERIC = frozenset(
    {
        "abstract", "introduction", "conclusion", "conclusions", "references", "bibliography", "appendix",
        "acknowledgements", "acknowledgments", "contents", "table of contents", "preface", "index", "summary",
        "notes", "background", "discussion", "related work", "future work", "limitations",
    }
)  # fmt: skip
_CONTINUES = frozenset(["a", "an", "and", "by", "for", "from", "in", "of", "on", "or", "the", "to", "with"])


@dataclass(frozen=True)
class Example:
    question: str
    source: str  # the document it is about


@dataclass(frozen=True)
class Candidate:
    question: str
    source: str
    words: frozenset[str]  # the topic's content words: the first quote must hold them all
    section: str = ""  # the heading's section, white space collapsed: a quote from it is the best answer
    outline: tuple[frozenset[str], ...] = ()  # the content words of each of the document's headings

    def level(self, source: str, quote: str) -> int:
        """0: not answered by its document; 1: a quote of its document holding the topic's words;
        2: a quote from under its heading."""
        if source != self.source or _heading_like(quote, 12) or self._lists_sections(quote):
            return 0  # another document's, a heading rather than what it heads, or a table of contents
        if self.section and " ".join(quote.split()) in self.section:
            return 2
        return 1 if self.words <= content_word_set(quote) else 0

    def _lists_sections(self, quote: str) -> bool:
        """"This handbook covers setup, cleaning and the warranty": it names sections, answers none."""
        words = content_word_set(quote)
        return sum(1 for h in self.outline if h and h <= words) >= 2


# -- candidates (pure) -----------------------------------------------------------


def _lines(text: str) -> list[tuple[int, int, str]]:
    """(start, end, stripped line) for each non-empty line of `text`."""
    out, pos = [], 0
    for raw in text.splitlines(keepends=True):
        line = raw.strip()
        if line:
            start = pos + raw.index(line[0])
            out.append((start, start + len(line), line))
        pos += len(raw)
    return out


def _heading_like(line: str, max_words: int = 8) -> bool:
    words = line.split()
    alpha = sum(1 for w in words if re.fullmatch(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]", w.strip(",:&()")))
    return (
        0 < len(words) <= max_words
        and alpha >= 0.6 * len(words)
        and not line.endswith((*_TERMINAL, "-"))
        and words[-1].lower() not in _CONTINUES
        and (line[0].isupper() or line[0].isdigit())
        and not re.search(r"[+=/@|<>]", line)
        and not _BOILERPLATE.search(line)
    )


def title_of(passages: Sequence[Hit], name: str) -> str:
    """The document's title from its first lines (a Markdown "# ", or a short line without closing
    punctuation), shortened at a colon when long; else `name` (its file name as shown)."""
    first = passages[0].text if passages else ""
    for _, _, line in _lines(first)[:4]:
        m = _MD_HEADING.match(line)
        if m and len(m.group(1)) == 1:
            line = m.group(2)
        elif _BOILERPLATE.search(line):
            continue
        if ":" in line and (len(line.split()) > 6 or not _heading_like(line, 12)):
            line = line.split(":", 1)[0].strip()  # "Batch Normalization: Accelerating Deep Network Training by"
        if not (m or _heading_like(line, 12)):
            continue
        return line.title() if line.isupper() and len(line) > 5 else line
    return name


def topic(heading: str) -> str:
    """A heading as quoted in a question: numbering and a closing colon dropped, ALL CAPS calmed
    ("6.1 EXPERIMENT: LOGISTIC REGRESSION" → "Experiment: logistic regression")."""
    text = heading.strip().rstrip(":").strip()
    return text.capitalize() if text.isupper() and len(text) > 4 else text


def headings(passages: Sequence[Hit]) -> list[tuple[str, str]]:
    """Each section heading of the document with its section's text (up to the next heading, into
    the next passage when the section goes on there), white space collapsed."""
    found: list[tuple[int, int, int, str]] = []  # passage index, heading start, heading end, text
    seen_pages: set[object] = set()
    for i, hit in enumerate(passages):
        opens_page = hit.page is not None and hit.page not in seen_pages
        seen_pages.add(hit.page)
        lines = _lines(hit.text)
        for j, (start, end, line) in enumerate(lines):
            after = lines[j + 1][2] if j + 1 < len(lines) else ""
            m, n = _MD_HEADING.match(line), _NUMBERED.match(line)
            if m and len(m.group(1)) > 1:
                text = m.group(2)
            elif n and _heading_like(n.group(2), 7) and not (i == 0 and hit.page) and not _heading_like(after, 4):
                text = n.group(2)  # "2. Budget"; not a title wrapped onto a second line, nor an affiliation
            elif j == 0 and opens_page and hit.page != 1 and _heading_like(line, 6) and not _heading_like(after, 4):
                text = line  # a PDF page that opens with a heading
            else:
                continue
            found.append((i, start, end, text))
    out: dict[str, str] = {}
    for k, (i, _start, end, text) in enumerate(found):
        nxt = found[k + 1] if k + 1 < len(found) else None
        section = passages[i].text[end : nxt[1] if nxt and nxt[0] == i else None]
        if (nxt is None or nxt[0] > i) and i + 1 < len(passages):
            section += " " + passages[i + 1].text[: nxt[1] if nxt and nxt[0] == i + 1 else None]
        out.setdefault(text, " ".join(section.split()))  # overlapping passages repeat a heading
    return list(out.items())


def facts(passages: Sequence[Hit], limit: int = 4) -> list[str]:
    """Sentences worth asking about: statements of 6-40 words, those with a number first (a date, a
    size, a count: what people look up), spread over the document."""
    found: list[str] = []
    for hit in passages:
        for a, b in sentence_spans(hit.text):
            text = " ".join(hit.text[a:b].split())
            if 6 <= len(text.split()) <= 40 and text.endswith(".") and not _heading_like(text, 12):
                found.append(text)
    found = list(dict.fromkeys(found))
    with_number = [t for t in found if re.search(r"(?<!\w)\d", t)]  # "3 years", not "K2"
    ranked = with_number + [t for t in found if t not in with_number]
    step = max(1, len(ranked) // (limit * 2)) if len(ranked) > limit * 2 else 1
    return ranked[::step][:limit]


def phrase(sentence: str, rarity: Mapping[str, float]) -> str:
    """The run of adjacent content words of `sentence` that is rarest in its document (a topic only
    it speaks of: "maximum depth", "burr chamber"), as written; a long run by its last three words,
    where English puts the head of a noun phrase."""
    runs: list[list[str]] = [[]]
    for i, token in enumerate(re.findall(r"[\w'’-]+|[^\w\s]", sentence)):
        word = token.strip("'’-")
        common_start = i == 0 and word.istitle() and word.lower() in rarity  # "Although", "The"
        if len(word) > 1 and not word.isdigit() and content_word_set(word) and not common_start:
            runs[-1].append(word)
        elif runs[-1]:
            runs.append([])
    best, best_score = "", 0.0
    for run in runs:
        while run and run[-1].endswith("ed"):
            run.pop()  # "the group decided": a verb ends no topic
        if len(run) < 2:
            continue
        window = run[-3:] if len(run) > 4 else run
        score = sum(rarity.get(w.lower(), 0.0) for w in window) / len(window)
        if score > best_score + 1e-9:
            best, best_score = " ".join(window), score
    return best


def _rarity(passages: Sequence[Hit]) -> dict[str, float]:
    """Inverse sentence frequency of each word in the document."""
    sentences = [set(re.findall(r"[\w'’-]+", hit.text[a:b].lower())) for hit in passages for a, b in sentence_spans(hit.text)]
    counts: Counter[str] = Counter(w for words in sentences for w in words)
    return {w: math.log((1 + len(sentences)) / n) for w, n in counts.items()}


def candidates(passages: Sequence[Hit], source: str, name: str) -> list[Candidate]:
    """Questions to try for one document, best first: about its facts (a rare phrase of a sentence
    worth quoting), then about its section headings."""
    title = title_of(passages, name)
    found = [(topic(text), section) for text, section in headings(passages)]
    outline = tuple(content_word_set(t) for t, _ in found)
    out: list[Candidate] = []
    rarity = _rarity(passages)
    for fact in facts(passages):
        if about := phrase(fact, rarity):
            the = "the " if about[0].islower() else ""
            out.append(Candidate(f"What do the documents say about {the}{about}?", source, content_word_set(about), fact, outline))
    for about, section in found:
        words = content_word_set(about)
        if about.lower() not in _GENERIC and about.lower() != title.lower() and words:
            out.append(Candidate(f"What do the documents say about “{about}”?", source, words, section, outline))
    return out


# -- chosen against the index ------------------------------------------------------


def level(engine: Citeqa, c: Candidate) -> int:
    """How well asking `c.question` (generation off, as the chat asks it) answers from its own
    document: see `Candidate.level`."""
    stream = engine.ask_stream(c.question, generate=False)
    stream.close()
    if not stream.evidence:
        return 0
    top = stream.evidence[0]
    return c.level(top.hit.source, top.quote)


def choose(engine: Citeqa, docs: Sequence[DocumentRecord], names: dict[str, str]) -> list[Example]:
    """Up to SHOWN examples, one per document, from the DOCS_TRIED most recently ingested documents:
    for each the first candidate answered from its own sentence or section (else the first quoted
    from its document), those answered from their own sentence first."""
    found: list[tuple[int, int, Example]] = []
    recent = sorted(docs, key=lambda d: (-d.ingested_at, d.path))[:DOCS_TRIED]
    for rank, doc in enumerate(recent):
        if sum(1 for level, _, _ in found if level == 2) >= SHOWN:
            break
        name = names.get(doc.path) or doc.path.rsplit("/", 1)[-1]
        best: tuple[int, Candidate] | None = None
        for c in candidates(engine.passages(doc.path), doc.path, name)[:PER_DOC]:
            got = level(engine, c)
            if got and (best is None or got > best[0]):
                best = (got, c)
            if got == 2:
                break
        if best is not None:
            found.append((best[0], rank, Example(best[1].question, doc.path)))
    return [e for _, _, e in sorted(found, key=lambda x: (-x[0], x[1]))[:SHOWN]]


@st.cache_data(max_entries=8, show_spinner="Finding example questions in your documents…")
def _cached(state: tuple, _engine: Citeqa, _docs: Sequence[DocumentRecord], _names: dict[str, str]) -> list[Example]:
    return choose(_engine, _docs, _names)


def examples(engine: Citeqa, docs: Sequence[DocumentRecord], names: dict[str, str]) -> list[Example]:
    """The examples for the index as it is now (computed once per index state and configuration);
    none if finding them fails (they are a convenience)."""
    if not docs:
        return []
    state = (engine.settings.model_dump_json(), tuple((d.path, d.content_hash) for d in docs))
    try:
        return _cached(state, engine, docs, names)
    except Exception:
        log.warning("cannot derive example questions", exc_info=True)
        return []
