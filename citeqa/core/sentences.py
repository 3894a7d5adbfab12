"""Sentences of a text as exact character offsets: the one splitter for evidence, relevance and
support checks.

Hand-written rules rather than a library, because they split this project's text as well or
better. Measured as evidence@1/2/3 (top evidence sentences holding the gold answer, default
retrieval, 4 passages) on SQuAD (1,062 answerable) / on 24 questions about the corpus PDFs:

    these rules        0.757 0.838 0.879 / 0.375 0.500 0.542
    pysbd 0.3.4        0.756 0.839 0.877 / 0.250 0.333 0.333   (cuts at every line break)
    blingfire 0.1.8    0.754 0.839 0.878 / 0.375 0.500 0.500   (headings run into sentences)
    syntok 1.4.4       0.755 0.835 0.876 / 0.333 0.500 0.542
    sentencex 1.0.32   0.754 0.838 0.879 / 0.375 0.458 0.542   (cuts inside equations)
    one sentence per line or ";"  0.744 0.827 0.868 / 0.250 0.292 0.292

Read by hand on the PDFs, the libraries either cut hard-wrapped lines apart or run headings
("2 ALGORITHM", "Published as a conference paper at ICLR 2015") into the next sentence; the
rules keep "e.g.", "Fig. 3", "w.r.t." and decimals inside their sentence and a heading on its own.

Rules: a sentence ends at terminal punctuation followed by white space (numeric references like
"[3]" or "[2, 5]" after the full stop stay with it), unless the word before the dot is a known
abbreviation or an initial, or the next word starts in lower case, or it falls inside brackets
that close just after it ("(d. 1560)", "(Alg. 1)"); blank lines and list items always break; a
single line break breaks where the line before is much shorter than the text's usual line (a
heading, a caption, the end of a paragraph) and the next line starts with a capital or a digit.
Spans are trimmed of surrounding white space, of a leading bullet and of trailing stray glyphs,
and are never empty.
"""

from __future__ import annotations

import functools
import itertools
import re

from citeqa.core.tables import row_start

# Numeric references ([1], [2, 3], [2-4]; several in a row are separate matches): citation markers in
# answers and reference numbers in papers alike. The list is possessive (`*+`): giving numbers back
# never lets a "]" follow, and backtracking through a long unclosed "[1,1,1,..." grew quadratically.
REFERENCE = re.compile(r"\[\s*(\d{1,3}(?:\s*(?:,|;|-|–|and)\s*\d{1,3})*+)\s*\]")

# A table row read with its headers, a block of its own: "ResNet-152: top-1 err. 19.38 · top-5 err. 4.49".
TABLE_ROW = re.compile(r"[^\n]{1,200}?: [^\n]*? · [^\n]*")

# Words that end in "." without ending a sentence (compared lower-cased, without the dot).
_ABBREVIATION_WORDS = (
    "e.g i.e w.r.t etc cf vs al fig figs eq eqs no nos p pp sec ch vol approx ca dr mr mrs ms prof st jr sr inc ltd "
    "co corp dept est jan feb mar apr jun jul aug sep sept oct nov dec tab ref refs resp min max"
)
_ABBREVIATIONS = frozenset(_ABBREVIATION_WORDS.split())
# A candidate end: terminal punctuation, closing quotes/brackets, then any numeric references.
_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?:\s*" + REFERENCE.pattern + ")*")
# (a blank line, a bullet, a numbered item or a Markdown heading: "### Major changes between ...")
_BREAK = re.compile(r"\n[ \t]*\n\s*|\n(?=[ \t]*(?:[-*•]|\d{1,2}[.)]|#{1,6})\s)")
_NUMBERING = re.compile(r"(?:^|\n|[.!?:][ \t])[ \t]*\d{1,2}$")
_QUESTION = re.compile(r"\?[\"'”’)\]]*(?:\s*" + REFERENCE.pattern + r")*\s*$")
# A bullet or a scanner's speck before a sentence ("• It ...", OCR's "¢ We introduce ...") and glyphs
# after its end ("... training. ‘ — ~") are not part of the quote; each stands apart from the words.
_GLYPHS = "•◦▪▫‣∙·●○■□►▶➢✓✔✗¢~|*–—-"  # "-" last: a literal in a character class
_BULLET_LEAD = re.compile(rf"(?:[{_GLYPHS}]+[ \t]+)+")
# Glyphs after a sentence's end, each after a blank: `(?:[ \t]+[‘{_GLYPHS}]+)+$` (an opening quote after
# the end is a speck too), found by `_junk_tail` in linear time.
_TAIL_GLYPHS = "‘" + _GLYPHS
_BLANK = re.compile(r"[ \t]")
_NOT_SPACE = re.compile(r"\S")
_JUNK = re.compile(rf"[\s‘{_GLYPHS}]+")
_BRACKET_REACH = 30  # characters: a bracket left open closes within this after an end it holds
_WORD = re.compile(r"[^\W_]+(?:[.'’][^\W_]+)*")
# A line this much shorter than the text's usual line ends a heading or a paragraph.
_SHORT_LINE = 0.6
_MIN_LINES = 3  # fewer lines tell nothing about the usual width
_CONTINUED = (",", "-", "(", " and", " or", " of", " the")  # a line ending so goes on


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`: `text[start:end]` is the sentence, verbatim."""
    spans: list[tuple[int, int]] = []
    breaks = sorted(
        [(m.start(), m.end()) for m in _BREAK.finditer(text)] + _line_breaks(text), key=lambda b: b[0]
    )
    block_start = 0
    for brk in [*breaks, None]:
        if brk is not None and brk[0] < block_start:
            continue  # inside a break already taken
        block_end = brk[0] if brk else len(text)
        start = block_start
        brackets = _Brackets(text, start)
        # A table row's line (citeqa.core.tables) is one sentence: its headers' "err." ends none.
        row = block_end - block_start < 2000 and (
            TABLE_ROW.fullmatch(text, block_start, block_end) is not None
            or (brk is None and row_start(text) == block_start)  # a row of one value
        )
        for m in () if row else _END.finditer(text, block_start, block_end):
            end = m.end()
            if end < block_end and not text[end].isspace():
                continue  # 3.14, e.g.x, U.S.A
            if _is_abbreviation(text, m.start(), end, block_end) or brackets.holds(end, block_end):
                continue
            spans.append((start, end))
            start = end
            brackets = _Brackets(text, start)
        spans.append((start, block_end))
        block_start = brk[1] if brk else len(text)
    return _trimmed(text, spans)


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


MIN_SCORABLE_WORDS = 3


@functools.lru_cache(maxsize=8192)
def scorable_spans(text: str) -> tuple[tuple[int, int], ...]:
    """Spans of the sentences of a passage worth comparing with a question: fragments under three
    words (a heading, a page number) would match short questions on a single shared word. A passage
    with no such sentence is one span. Cached: the same passages come back question after question,
    for relevance, evidence and its candidates alike."""
    every = sentence_spans(text)
    spans = tuple(
        _with_what_it_introduces(text, every, i) for i, (s, e) in enumerate(every) if word_count(text[s:e]) >= MIN_SCORABLE_WORDS
    )
    if spans:
        return spans
    stripped = text.strip()
    start = text.find(stripped) if stripped else 0
    return ((start, start + len(stripped)),) if stripped else ((0, len(text)),)


# A sentence that ends in a colon introduces what follows on the next lines ("This command checks
# your code but doesn't produce an executable:" then "$ cargo check"; "... these families of
# methods:" then a list): it is read, scored and quoted with up to INTRODUCED lines of it, short
# ones, as one span. The lines keep their own spans too.
INTRODUCED = 4
_INTRODUCED_CHARS = 400


def _with_what_it_introduces(text: str, spans: tuple[tuple[int, int], ...], i: int) -> tuple[int, int]:
    start, end = spans[i]
    if not text[start:end].endswith(":"):
        return start, end
    for s, e in spans[i + 1 : i + 1 + INTRODUCED]:
        if "\n" not in text[end:s] or "\n" in text[s:e] or e - start > _INTRODUCED_CHARS:
            break  # not a line of its own, a block of several lines, or too much
        end = e
    return start, end


def is_question(sentence: str) -> bool:
    """Whether a sentence asks: it ends in "?", before any closing quotes, brackets or references."""
    return _QUESTION.search(sentence) is not None


def word_count(text: str) -> int:
    return len(_WORD.findall(text))


def _trimmed(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if lead := _BULLET_LEAD.match(text, s, e):
            s = lead.end()
        e = _junk_tail(text, s, e)
        if e > s and _WORD.search(text, s, e):
            out.append((s, e))
        elif out and e > s and not _JUNK.fullmatch(text, s, e):
            # A stray marker or punctuation ("[2]." after a break) belongs to the previous sentence.
            out[-1] = (out[-1][0], e)
    return out


def _line_breaks(text: str) -> list[tuple[int, int]]:
    """Single line breaks that end a heading, a caption or a paragraph in hard-wrapped text. A
    Markdown heading's line ("# Osprey O3") always ends at its line break, however short the text."""
    lines = text.split("\n")
    widths = sorted(len(ln.strip()) for ln in lines if ln.strip())
    wrapped = len(widths) >= _MIN_LINES
    usual = widths[(3 * len(widths)) // 4] if wrapped else 0  # the upper quartile: most wrapped lines are full
    out = []
    pos = 0
    for line, nxt in itertools.pairwise(lines):
        end = pos + len(line)
        stripped = line.strip()
        head = nxt.lstrip()[:1]
        short = wrapped and bool(stripped) and len(stripped) < _SHORT_LINE * usual
        heading = stripped.startswith("#") and bool(nxt.strip())
        if heading or (short and (head.isupper() or head.isdigit()) and not stripped.endswith(_CONTINUED)):
            out.append((end, end + 1))
        pos = end + 1
    return out


def _junk_tail(text: str, s: int, e: int) -> int:
    """Where the stray glyphs that end `text[s:e]` begin (`e` if none): the longest tail of blanks
    and glyphs that starts with a blank and ends with a glyph. Searching `_JUNK_TAIL`'s regex
    tried it again at every blank of the span, quadratic on a long run of blanks or of " -"."""
    if e <= s or text[e - 1] not in _TAIL_GLYPHS:
        return e  # most sentences: no copy of the span
    tail_from = s + len(text[s:e].rstrip(" \t" + _TAIL_GLYPHS))
    blank = _BLANK.search(text, tail_from, e)
    return blank.start() if blank else e


class _Brackets:
    """Whether a candidate end falls inside brackets that close just after it: "(Fig. 3. Left)", or
    OCR's "[[16! 36-41]" for a reference list "[16, 36-41]". Brackets are counted from the
    sentence's start once, as the candidate ends move on: counting from the start again for each
    made a long sentence of rejected ends quadratic."""

    def __init__(self, text: str, start: int) -> None:
        self.text = text
        self.counted = start
        self.depth = {"()": 0, "[]": 0}  # opened minus closed since the start

    def holds(self, end: int, limit: int) -> bool:
        for pair in self.depth:
            self.depth[pair] += self.text.count(pair[0], self.counted, end) - self.text.count(pair[1], self.counted, end)
        self.counted = end
        return any(
            depth > 0 and self.text.find(pair[1], end, min(limit, end + _BRACKET_REACH)) != -1
            for pair, depth in self.depth.items()
        )


def _is_abbreviation(text: str, dot: int, end: int, limit: int) -> bool:
    if text[dot] != ".":
        return False
    nxt = _NOT_SPACE.search(text, end, limit)  # not text[end:limit].lstrip(): a copy per end
    if nxt and nxt.group().islower():
        return True  # a sentence never starts in lower case
    if _NUMBERING.search(text, max(0, dot - 8), dot):
        return True  # "2. Second item" numbering, not "... in 2020. Then"
    word = re.search(r"([^\W\d_]+(?:\.[^\W\d_]+)*)\.?$", text[max(0, dot - 20) : dot + 1])
    if not word:
        return False
    w = word.group(1).lower()
    # A one-letter word before the dot is taken for an initial ("J. Smith").
    return w in _ABBREVIATIONS or (len(w) == 1 and text[max(0, dot - 2) : dot - 1] in (" ", "", "\n"))
