"""Tables as evidence: a table found at ingest, and the passage each of its rows is indexed as.

A row is its own passage (one chunk, never split), so keyword and dense search match "ResNet-152
top-5 error" to the row whose label and headers say so, and evidence can quote the row alone.
Its text is three blocks, each ending a sentence (citeqa.core.sentences breaks at blank lines):

    Table 4. Error rates (%) of single-model results on the ImageNet validation set.

    method | top-1 err. | top-5 err.

    ResNet-152: top-1 err. 19.38 · top-5 err. 4.49

the caption (left out when the table has none), the column headers, and the row read with its
headers. The caption and headers make the row findable; the last block is what is quoted. Every
cell is verbatim from the document, so a quote of the row is the document's own words. A row
passage is told apart by its location, which names its table ("Table 4", "slide 3, table 1"), so
the chunk schema needs no new field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HEADER_SEP = " | "
CELL_SEP = " · "
LABEL_SEP = ": "
# A row passage's location ends with its table's name: "Table 4" (from the caption), "table 2"
# (the second table of its page, slide or section, when there is no caption).
_TABLE_NAME = re.compile(r"(?:^|, )((?:Table|table|Figure) [\w.-]{1,12})$")
CAPTION = re.compile(r"^\s*(?:Table|TABLE|Tab\.)\s*([A-Z]?\d+(?:\.\d+)?[a-z]?)\s*[.:]")


@dataclass(frozen=True)
class Table:
    """A table of a page (or slide, or section): `headers` one per column, multi-level headers
    joined top to bottom ("top-5 err. (test)"); `rows` the body rows, cells in column order, the
    first cell the row's label. `bbox` (x0, top, x1, bottom, in PDF points from the page's top
    left) where the page has coordinates; `name` "Table 4" from the caption, else "table N"."""

    name: str
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    bbox: tuple[float, float, float, float] | None = None

    def passages(self, glossary: str = "") -> list[str]:
        """One passage per row that has a value (rows of only a label are section lines).
        `glossary` spells out the headers' abbreviations (citeqa.core.abbreviations): a line of
        the header block, under the headers, for search and for reading what is asked."""
        head = [self.caption] if self.caption else []
        if any(self.headers):
            head.append(HEADER_SEP.join(self.headers) + (f"\n({glossary})" if glossary else ""))
        return ["\n\n".join([*head, row_line(self.headers, row)]) for row in self.rows if any(row[1:])]


def row_line(headers: tuple[str, ...], cells: tuple[str, ...]) -> str:
    """A row read with its headers: "ResNet-152: top-1 err. 19.38 · top-5 err. 4.49"."""
    label, *values = cells
    named = [f"{h} {v}" if h else v for h, v in zip((*headers[1:], *[""] * len(values))[: len(values)], values, strict=True) if v]
    body = CELL_SEP.join(named)
    return f"{label}{LABEL_SEP}{body}" if label else body


def table_name(location: str) -> str:
    """The table a row passage's location names ("Table 4"), or "" for an ordinary passage."""
    m = _TABLE_NAME.search(location)
    return m.group(1) if m else ""


def place(location: str) -> str:
    """The location without the table's name: "slide 3" of "slide 3, table 1"."""
    m = _TABLE_NAME.search(location)
    return location[: m.start()] if m else location


def name_for(caption: str, index: int) -> str:
    """"Table 4" for caption "Table 4. Error rates ...", else "table {index}" (1-based)."""
    m = CAPTION.match(caption)
    return f"Table {m.group(1)}" if m else f"table {index}"


def located(location: str, name: str) -> str:
    return f"{location}, {name}" if location else name


def row_label(line: str) -> str:
    """The label of a row's line ("ResNet-152" of "ResNet-152: top-1 err. 19.38 · ..."); "" if none."""
    head, sep, _ = line.partition(LABEL_SEP)
    return head if sep else ""


@dataclass(frozen=True)
class RowPassage:
    """A row passage read back: its caption, headers and the row's line (the quotable block)."""

    caption: str
    headers: tuple[str, ...]
    row: str
    row_start: int  # offset of the row's line in the passage

    @property
    def label(self) -> str:
        return row_label(self.row)

    def cells(self) -> tuple[str, ...]:
        """The row's cells as the document prints them, label first, without the header each value
        is read with (row_line undone): "ResNet-152", "19.38", "4.49". A page's text runs a row's
        cells in this order, where the line with its headers is nowhere (app/pages.py boxes it)."""
        label, sep, body = self.row.partition(LABEL_SEP)
        if not sep:
            label, body = "", self.row
        values = []
        for part in body.split(CELL_SEP):
            # Empty cells are left out of the line, so a value's header is whichever one it starts with.
            header = max((h for h in self.headers[1:] if h and part.startswith(h + " ")), key=len, default="")
            values.append(part[len(header) + 1 :] if header else part)
        return tuple(c for c in (label, *values) if c)


def read_row(text: str) -> RowPassage | None:
    """The parts of a row passage's text (see the module's docstring), or None if it is not one."""
    blocks = text.split("\n\n")
    if len(blocks) == 1:  # a window too small for caption and headers (citeqa.ingest.chunker)
        return RowPassage("", (), text, 0)
    if len(blocks) > 3:
        return None
    row = blocks[-1]
    header = blocks[-2] if len(blocks) == 3 or HEADER_SEP in blocks[-2] else ""
    caption = blocks[0] if len(blocks) == 3 or not header else ""
    header = header.split("\n", 1)[0]  # the headers' line, without the glossary under it
    return RowPassage(caption, tuple(header.split(HEADER_SEP)) if header else (), row, len(text) - len(row))


_HEADER_LINE = re.compile(r"[^\n]*? \| [^\n]*")
_NOTE = re.compile(r"\([^\n]*\)")


def is_header_line(line: str) -> bool:
    """Whether `line` is a table's line of column headers ("Model | Steps to | 72.2% | Max
    accuracy"): it names what the rows measure, even where a header holds a number."""
    return _HEADER_LINE.fullmatch(line.strip()) is not None and ": " not in line


def row_start(text: str) -> int | None:
    """Where the row's line of a row passage starts, told by its shape (a last block after a line
    of headers: "method | top-5 err. (test)"), so that a row of one value ("VGG [41]: top-5 err.
    (test) 7.32") reads as a row, whose headers' full stops end no sentence; None for other text."""
    blocks = text.split("\n\n")
    if not 2 <= len(blocks) <= 3 or "\n" in blocks[-1] or LABEL_SEP not in blocks[-1]:
        return None
    # The headers' line, and under it at most the glossary's line in parentheses: not a Markdown
    # table ("| a | b |") in prose.
    header, _, note = blocks[-2].partition("\n")
    if not _HEADER_LINE.fullmatch(header) or header.startswith("|") or (note and not _NOTE.fullmatch(note)):
        return None
    return len(text) - len(blocks[-1])


_GLOSSED = re.compile(r"([A-Za-z][A-Za-z0-9]{1,5}): ([^;,)]+)")
_SHORT = re.compile(r"\b[A-Za-z][A-Za-z0-9]{1,5}\b")


def readings(text: str) -> list[str]:
    """A row passage's cells one by one, each read with its row's label and its header, as
    written and with the headers' abbreviations spelt out as the glossary line spells them
    ("RAG (Lewis et al., 2020): NQ EM 44.5", "RAG (Lewis et al., 2020): NaturalQuestions exact
    match 44.5"). What an embedder compares with a question: a whole row of twenty cells, or
    one in abbreviations, is numbers and letters to it. Not quotes (the row's line is one); none
    for text that is no row passage."""
    start = row_start(text)
    row = read_row(text) if start is not None else None
    if row is None:
        return []
    head = text[:start].rstrip("\n").rsplit("\n\n", 1)[-1]
    long = dict(_GLOSSED.findall(head.split("\n", 1)[1] if "\n" in head else ""))
    out: list[str] = []
    for part in row.row[len(row.label) + len(LABEL_SEP) if row.label else 0 :].split(CELL_SEP):
        if not any(c.isdigit() for c in part):
            continue
        cell = f"{row.label}{LABEL_SEP}{part}" if row.label else part
        out.append(cell)
        if long:
            out.append(_SHORT.sub(lambda m: long.get(m.group(), m.group()), cell))
    return list(dict.fromkeys(out))
