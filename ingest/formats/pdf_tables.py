"""Tables on a PDF page's text layer: found from where its words sit (pdfplumber), next to a caption.

What is found as a table in each format, and how a row is shown, cited and named in the JSON, is
told to users in the README's "Tables" section (Word, HTML and slide tables: ingest/formats/grids.py).

Measured on the corpus papers: pdfplumber's and PyMuPDF's own table finders
draw tables from ruling lines, and papers rule tables only between header and body (booktabs) or
not at all, so they returned plots' axis ticks as tables and run a column's cells together into
one ("19\\n19\\n32"); PyMuPDF also took 0.8-1.7 s a page. What tables in papers do have is a
caption ("Table 4.", or a "Figure 4:" under a results table) and cells in aligned columns: the
lines next to a caption whose words leave column gaps are the table, the gaps that run through
all of its body rows part its columns, and the lines above the first body row are its headers,
joined per column. pdfplumber reads the words with their boxes (pdfminer); it is run only on the
pages whose pypdf text has a caption and lines of numbers, and costs about 0.2 s a page here.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citeqa.core.tables import Table, name_for
from citeqa.ingest.formats.base import clean_text

log = logging.getLogger(__name__)

_CAPTION_WORD = re.compile(r"^(?:Table|TABLE|Figure|Fig\.)$")
_CAPTION_NUMBER = re.compile(r"^[A-Z]?\d+(?:\.\d+)?[a-z]?[.:]$")
_CAPTION_LINE = re.compile(r"^\s*(?:Table|TABLE|Figure|Fig\.)\s*\d+[.:]", re.MULTILINE)
_NUMBER = re.compile(r"^[-+±−]?[(\[]?\d[\d.,]*%?[)\]]?[*†‡]*$|^[-–—]$")
_NUMBERS_LINE = re.compile(r"\d(?:\S*)\s+\S*\d")
_SPACE = 4.0  # points: wider than a space between words of a cell, narrower than a column gap
_LINE_TOL = 2.5  # points: words whose bottoms differ by less are on one line
_ROW_GAP = 22.0  # points: a wider vertical gap ends a table
_PROSE_WORDS = 7  # a line of this many words with no column gap in it is prose
_MARK = re.compile(r"[*†‡§¶∗⋆·•∙⋅]{1,3}")


@dataclass(frozen=True)
class _Word:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float


def candidates(texts: Mapping[int, str]) -> list[int]:
    """Pages worth looking at: a caption, and at least three lines holding two numbers or more."""
    return [
        n
        for n, t in texts.items()
        if _CAPTION_LINE.search(t) and sum(1 for line in t.splitlines() if _NUMBERS_LINE.search(line)) >= 3
    ]


def find(path: Path, numbers: Sequence[int]) -> dict[int, list[Table]]:
    """The tables of pages `numbers` (1-based) of the PDF at `path`."""
    import pdfplumber

    logging.getLogger("pdfminer").setLevel(logging.ERROR)
    out: dict[int, list[Table]] = {}
    from pdfplumber.utils.text import WordExtractor

    words_of = WordExtractor(x_tolerance=1.5, keep_blank_chars=False)
    with pdfplumber.open(path, pages=list(numbers)) as pdf:
        for n, page in zip(numbers, pdf.pages, strict=True):
            words = [
                _Word(clean_text(w["text"]), w["x0"], w["x1"], w["top"], w["bottom"])
                for w in words_of.extract_words(_chars(page))
            ]
            tables = [t for t in _tables(words) if t.rows]
            if tables:
                out[n] = tables
            page.close()
    return out


def _chars(page: Any) -> list[dict[str, Any]]:
    """The page's characters as `page.chars` gives them to `extract_words` (the same fields and
    values), read from pdfminer's layout directly: pdfplumber's `chars` first converts every
    object of the page, the curves of plots point by point, which was half of the time spent
    finding tables on the corpus papers."""
    from pdfminer.layout import LTChar, LTContainer

    height, (mb_x0, mb_top) = page.height, page.mediabox[:2]
    out: list[dict[str, Any]] = []

    def walk(objs: Iterable[Any]) -> None:
        for o in objs:
            if isinstance(o, LTChar):
                top = height - o.y1 + mb_top
                out.append(
                    {
                        "text": o.get_text(),
                        "x0": o.x0 + mb_x0,
                        "x1": o.x1 + mb_x0,
                        "top": top,
                        "bottom": height - o.y0 + mb_top,
                        "doctop": page.initial_doctop + top,
                        "width": o.width,
                        "height": o.height,
                        "size": o.size,
                        "upright": o.upright,
                    }
                )
            elif isinstance(o, LTContainer):  # a figure (form XObject): its characters too
                walk(o)

    walk(page.layout)
    return out


def _lines(words: Sequence[_Word]) -> list[list[_Word]]:
    """Words grouped into lines, top to bottom, each left to right."""
    lines: list[list[_Word]] = []
    # By the words' bottoms: a dagger or a superscript raises a word's top, not its baseline.
    for w in sorted(words, key=lambda w: (w.bottom, w.x0)):
        if lines and abs(lines[-1][0].bottom - w.bottom) < _LINE_TOL:
            lines[-1].append(w)
        else:
            lines.append([w])
    # A line of marks alone ("†" printed raised, "·" of "31.0 · 10^6" sitting above the baseline)
    # that reaches into the line below belongs to it: left apart, a "†" parted a caption's lines
    # ("validation set (except † reported on the test set)."), whose end read as the next table's
    # header, and each "·" read as a header line of its own.
    merged: list[list[_Word]] = []
    for line in lines:
        if merged and all(_MARK.fullmatch(w.text) for w in merged[-1]) and merged[-1][0].bottom > min(w.top for w in line):
            line = merged.pop() + line
        merged.append(line)
    return [sorted(line, key=lambda w: w.x0) for line in merged]


def _segment(line: list[_Word], start: int) -> list[_Word]:
    """The words of `line` from index `start` while no column gap parts them (a caption's line)."""
    out = [line[start]]
    for w in line[start + 1 :]:
        if w.x0 - out[-1].x1 > 3 * _SPACE:
            break
        out.append(w)
    return out


def _tables(words: list[_Word]) -> list[Table]:
    lines = _lines(words)
    tables: list[Table] = []
    used: set[int] = set()  # lines already in a table
    for i, line in enumerate(lines):
        for j, w in enumerate(line[:-1]):
            if not (_CAPTION_WORD.match(w.text) and _CAPTION_NUMBER.match(line[j + 1].text)):
                continue
            if j and w.x0 - line[j - 1].x1 < 3 * _SPACE:
                continue  # "Table 3." inside a sentence
            table = _at_caption(lines, i, j, used, figure=not w.text.lower().startswith("tab"))
            if table is not None:
                tables.append(table)
    return tables


def _at_caption(lines: list[list[_Word]], i: int, j: int, used: set[int], *, figure: bool) -> Table | None:
    first = _segment(lines[i], j)
    x0 = first[0].x0
    caption_words = [first]
    # The caption's further lines: just below, starting at its left edge, within its width. A line
    # of the page's other column may sit between two of them (a baseline a little lower).
    right = max(w.x1 for w in first) + 6
    taken, k = [i], i + 1
    while k < len(lines):
        seg = [w for w in lines[k] if w.x0 >= x0 - 2 and w.x1 <= right]
        if not seg and min(w.top for w in lines[k]) - caption_words[-1][0].bottom <= 4:
            k += 1
            continue
        if not seg or seg[0].x0 > x0 + 2 or seg[0].top - caption_words[-1][0].bottom > 4:
            break
        caption_words.append(_segment(seg, 0))
        taken.append(k)
        k += 1
    k = taken[-1] + 1
    used.update(taken)  # a caption is no other table's header
    x1 = max(seg[-1].x1 for seg in caption_words)
    caption = " ".join(w.text for seg in caption_words for w in seg)
    # Tables sit above their caption in most papers, below it in some: try above first.
    for block in (_block(lines, range(i - 1, -1, -1), x0, x1, first[0].top, used),
                  _block(lines, range(k, len(lines)), x0, x1, caption_words[-1][0].bottom, used)):
        table = _table(block, caption, figure=figure)
        if table is not None:
            used.update(idx for idx, _ in block)
            return table
    return None


def _block(
    lines: list[list[_Word]], order: range, x0: float, x1: float, edge: float, used: set[int]
) -> list[tuple[int, list[_Word]]]:
    """The table-like lines within x0..x1 next to the caption, walking away from it (`order`)."""
    out: list[tuple[int, list[_Word]]] = []
    last = edge
    for idx in order:
        # (a mark alone, "*" or "·", is a footnote's or a product's sign, no cell of its own)
        seg = [w for w in lines[idx] if x0 - 6 <= (w.x0 + w.x1) / 2 <= x1 + 6 and not _MARK.fullmatch(w.text)]
        if not seg:
            continue
        top, bottom = seg[0].top, max(w.bottom for w in seg)
        if idx in used or abs(top - last) > _ROW_GAP + (bottom - top) or any(_CAPTION_WORD.match(w.text) for w in seg[:1]):
            break
        gaps = [b.x0 - a.x1 for a, b in itertools.pairwise(seg)]
        if max(gaps, default=0) <= _SPACE and (len(seg) >= _PROSE_WORDS or (len(seg) >= 2 and seg[-1].text.endswith("."))):
            break  # a line of prose (a paragraph's last line ends with its full stop)
        out.append((idx, seg))
        last = top
    out.sort(key=lambda x: x[0])
    return out


def _table(block: list[tuple[int, list[_Word]]], caption: str, *, figure: bool) -> Table | None:
    lines = [seg for _, seg in block]
    body = [i for i, seg in enumerate(lines) if any(_NUMBER.match(w.text) for w in seg[1:]) and len(seg) >= 2]
    if len(body) < (3 if figure else 2):
        return None
    columns = _columns([lines[i] for i in body])
    # A header line may hold numbers in its words ("VOC 07 test" over a column, "07+12"): a body
    # line has a cell that is a number as a whole. Lines above the first such line are headers.
    first_body = next((i for i in body if _valued(_cells(lines[i], columns))), None)
    if first_body is None:
        return None
    if first_body != body[0]:
        body = [i for i in body if i >= first_body]
        columns = _columns([lines[i] for i in body])
    if len(columns) < 2:
        return None
    head_lines, body_lines = lines[:first_body], lines[first_body:]
    headers = _headers(head_lines, columns, body_lines[0])
    rows: list[tuple[str, ...]] = []
    for seg in body_lines:
        cells = _cells(seg, columns)
        if not cells[0] and any(cells[1:]) and not _valued(cells):
            # A header line within the body, over a lower group of rows that has columns the rows
            # above lack ("# layers  # params" in the ResNet paper's Table 6): it heads those.
            headers = [h or c for h, c in zip(headers, cells, strict=True)]
            continue
        if not any(re.search(r"[^\W\d_]", c) for c in cells[:1]) and not any(cells[1:]):
            continue
        rows.append(tuple(cells))
    # Rows whose label is a plot's tick (a number) are no table's rows.
    # A figure's rows need a name for a label (a plot's ticks are numbers); a table's may be numbers
    # ("Training passages: 5, 10, 25").
    labelled = [r for r in rows if (re.search(r"[^\W\d_]", r[0]) or (r[0] and not figure)) and any(_NUMBER.match(c) for c in r[1:])]
    if len(labelled) < (3 if figure else 2):
        return None
    values = [c for r in rows for c in r[1:] if c]
    if figure and sum(1 for c in values if _NUMBER.match(c)) < 0.6 * len(values):
        return None  # a diagram's boxes ("3x3 conv, 64"), not a table of results
    words = [w for seg in lines for w in seg]
    bbox = (min(w.x0 for w in words), min(w.top for w in words), max(w.x1 for w in words), max(w.bottom for w in words))
    name = _figure_name(caption) if figure else name_for(caption, 1)
    return Table(name, caption, tuple(" ".join(h.split()) for h in headers), tuple(rows), bbox)


def _valued(cells: Sequence[str]) -> bool:
    """A body row's cells: one besides the label is a number as a whole."""
    return any(_NUMBER.match(c) for c in cells[1:])


def _headers(head_lines: list[list[_Word]], columns: list[tuple[float, float]], first_row: list[_Word]) -> list[str]:
    """Each column's header, its header lines' words joined top to bottom. A header word heads the
    column it lies over most, as far as the row below it reaches ("method" over the labels of
    "Maxout [10]", which run on past the label column of the lower rows), else the nearest one.
    A phrase of a higher line that reaches over several columns ("TriviaQA" over "EM  EM", "COCO
    train" over "@.5  @[.5, .95]") heads each of them."""
    reach = list(columns)  # each column's extent, widened by the first row's cells and the headers
    for w, k in zip(first_row, _assigned(first_row, columns), strict=True):
        reach[k] = (min(reach[k][0], w.x0), max(reach[k][1], w.x1))
    parts: list[list[str]] = [[] for _ in columns]
    for n, seg in enumerate(sorted(head_lines, key=lambda s: -s[0].bottom)):
        line: list[list[str]] = [[] for _ in columns]
        for phrase in _phrases(seg):
            over = [k for k, (a, b) in enumerate(reach) if phrase[0].x0 < b and phrase[-1].x1 > a]
            if n and len(over) > 1:
                for k in over:
                    line[k].append(" ".join(w.text for w in phrase))
                continue
            for w in phrase:
                overlap = [min(b, w.x1) - max(a, w.x0) for a, b in reach]
                k = max(range(len(reach)), key=overlap.__getitem__) if max(overlap) > 0 else _column(w, columns)
                line[k].append(w.text)
                reach[k] = (min(reach[k][0], w.x0), max(reach[k][1], w.x1))
        for k, words in enumerate(line):
            parts[k][:0] = words
    return [" ".join(p) for p in parts]


def _phrases(seg: list[_Word]) -> list[list[_Word]]:
    """A line's words in runs that no wider than a word space parts."""
    out: list[list[_Word]] = []
    for w in seg:
        if out and w.x0 - out[-1][-1].x1 <= _SPACE:
            out[-1].append(w)
        else:
            out.append([w])
    return out


def _figure_name(caption: str) -> str:
    m = re.match(r"^\s*(Figure|Fig\.)\s*(\d+)", caption)
    return f"Figure {m.group(2)}" if m else "table 1"


def _columns(lines: list[list[_Word]]) -> list[tuple[float, float]]:
    """Column spans: the x-extents of the body's words, merged where less than a column gap parts
    them. Only from the lines with as many cells as most lines have, or more: a row of fewer
    cells may run its label on into the next column ("Maxout [10]" in Table 6 of the ResNet paper,
    over the "# layers" of the rows below, which the rows of its group do not have)."""
    counts = sorted(len(_phrases(seg)) for seg in lines)
    full = [seg for seg in lines if len(_phrases(seg)) >= counts[len(counts) // 2]]
    spans: list[tuple[float, float]] = []
    for a, b in sorted((w.x0, w.x1) for seg in (full if len(full) >= 2 else lines) for w in seg):
        if spans and a - spans[-1][1] <= _SPACE:
            spans[-1] = (spans[-1][0], max(spans[-1][1], b))
        else:
            spans.append((a, b))
    return spans


def _column(w: _Word, columns: list[tuple[float, float]]) -> int:
    mid = (w.x0 + w.x1) / 2
    return min(range(len(columns)), key=lambda c: 0 if columns[c][0] <= mid <= columns[c][1] else min(abs(mid - columns[c][0]), abs(mid - columns[c][1])))


def _assigned(seg: list[_Word], columns: list[tuple[float, float]]) -> list[int]:
    """The column of each word of a line. A word a space after a word of text goes on its cell
    ("Maxout [10]": a label's reference mark under the next column's header); numbers side by
    side are cells of their own."""
    out: list[int] = []
    for i, w in enumerate(seg):
        prev = seg[i - 1] if i else None
        joined = prev is not None and w.x0 - prev.x1 <= _SPACE and not _NUMBER.match(prev.text)
        out.append(out[-1] if joined else _column(w, columns))
    return out


def _cells(seg: list[_Word], columns: list[tuple[float, float]]) -> list[str]:
    cells: list[list[str]] = [[] for _ in columns]
    for w, k in zip(seg, _assigned(seg, columns), strict=True):
        cells[k].append(w.text)
    return [" ".join(c) for c in cells]


def without_tables(text: str, tables: Sequence[Table]) -> str:
    """The page's text without the lines that hold only table cells, so the prose around a table
    reads as prose (pypdf runs a table's cells into lines of bare numbers)."""
    tokens = {tok for t in tables for cells in (t.headers, *t.rows) for c in cells for tok in c.split()}
    squashed = "".join("".join(c.split()) for t in tables for cells in (t.headers, *t.rows) for c in cells)
    kept = []
    for line in text.split("\n"):
        toks = line.split()
        if toks and (all(t in tokens for t in toks) or (len("".join(toks)) > 3 and "".join(toks) in squashed)):
            continue
        kept.append(line)
    return "\n".join(kept)


def verbatim(table: Table, text: str) -> bool:
    """Every body cell of `table` is in `text` as written (white space aside; headers of several
    lines are joined, so they are not checked)."""
    page = " ".join(text.split())
    return all(" ".join(c.split()) in page for cells in table.rows for c in cells)
