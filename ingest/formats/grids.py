"""Tables whose cells a format spells out (Word, HTML, slides), read into citeqa.core.tables.Table.

Unlike a PDF's (citeqa.ingest.formats.pdf_tables), these tables need no finding: each reader hands
over its grid, one slot per layout column, merged cells already spread over the columns and rows
they cover. What is decided here, once for the three formats, is which rows are the column headers
(the rows the format marks as such, else the first, and the rows under a header row that groups
columns, so "Vans" over "electric" and "diesel" reads "Vans electric"), how headers of several
rows are joined, and which tables are tables at all: a single row or a single column is a list,
not a table, and stays in the prose as it always was (`line`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from citeqa.core.tables import HEADER_SEP, Table, name_for


@dataclass(frozen=True)
class Slot:
    """One layout column of one row: the text of the cell that covers it, and whether that cell
    began in a column to its left (a column span), so a merged body cell's value counts once."""

    text: str
    spanned: bool = False


Grid = Sequence[Sequence[Slot]]


def squash(text: str) -> str:
    return " ".join(text.split())


def spread(rows: Sequence[Sequence[tuple[str, int, int]]]) -> list[list[Slot]]:
    """A grid from rows of (text, colspan, rowspan) cells as HTML writes them: a cell of rowspan 2
    also fills its column in the next row, and the next row's cells go around it."""
    grid: list[list[Slot | None]] = []
    for r, cells in enumerate(rows):
        while len(grid) <= r:
            grid.append([])
        c = 0
        for text, colspan, rowspan in cells:
            while c < len(grid[r]) and grid[r][c] is not None:
                c += 1  # a slot already taken by a cell spanning down from a row above
            for dr in range(max(1, rowspan)):
                while len(grid) <= r + dr:
                    grid.append([])
                row = grid[r + dr]
                for dc in range(max(1, colspan)):
                    while len(row) <= c + dc:
                        row.append(None)
                    row[c + dc] = Slot(text, spanned=dc > 0)
            c += max(1, colspan)
    return [[s or Slot("") for s in row] for row in grid[: len(rows)]]


def header_rows(grid: Grid, marked: int) -> int:
    """How many leading rows are headers: those marked so (thead, Word's repeated header rows),
    else the first; and one more while the last of them groups columns under a spanning cell."""
    n = max(1, marked)
    while n < len(grid) - 1 and any(s.spanned for s in grid[n - 1]):
        n += 1
    return n


def table(grid: Grid, n_headers: int, caption: str, index: int) -> Table | None:
    """The Table of `grid` whose first `n_headers` rows are its headers, or None when it is no
    table of values (fewer than two columns, or no body row with a label and a value). `index`:
    its number on its slide or in its section, naming it ("table 2") when the caption does not."""
    width = max((len(r) for r in grid), default=0)
    if width < 2:
        return None
    rows = [[*r, *[Slot("")] * (width - len(r))] for r in grid]
    headers = tuple(_joined([rows[i][c].text for i in range(n_headers)]) for c in range(width))
    body = tuple(
        cells
        for cells in (tuple("" if s.spanned else squash(s.text) for s in r) for r in rows[n_headers:])
        if any(cells)
    )
    if not any(cells[0] and any(cells[1:]) for cells in body):
        return None
    caption = squash(caption)
    return Table(name_for(caption, index), caption, headers, body)


def _joined(parts: Sequence[str]) -> str:
    """Header cells of one column top to bottom, a row-spanning one once: "Vans electric"."""
    out: list[str] = []
    for part in (squash(p) for p in parts):
        if part and (not out or out[-1] != part):
            out.append(part)
    # " | " parts the header line of a row passage (citeqa.core.tables.read_row): not in a header.
    return " ".join(out).replace(HEADER_SEP, " / ")


def line(grid: Grid) -> list[str]:
    """The rows of a grid that is no table, as prose lines: cells joined by " | ", a merged cell once."""
    out = []
    for r in grid:
        cells = [squash(s.text) for s in r if not s.spanned and s.text.strip()]
        if cells:
            out.append(" | ".join(cells))
    return out
