"""PowerPoint (.pptx) through python-pptx: one page per slide, cited as "slide 7".

A slide's text is its text boxes in reading order (top to bottom, then left to right), each
paragraph (bullet) a block of its own, and its speaker notes, which often say what the slide
only shows. A table is kept as a table (citeqa.ingest.formats.grids): the slide's title is its
caption, its first row its headers, and each row a passage of its own cited as "slide 3, table 1"
(or "slide 3, Table 2" under a title "Table 2: ..."). A one-row or one-column table stays in the
text, a block per row with cells joined by " | ".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.core.errors import DocumentError
from citeqa.core.tables import Table
from citeqa.core.types import Page
from citeqa.ingest.formats import grids, package
from citeqa.ingest.formats.base import Loaded, Options, blocks, clean_text

if TYPE_CHECKING:
    from pptx.shapes.base import BaseShape
    from pptx.slide import Slide
    from pptx.table import Table as PptxTable

_KIND = "PowerPoint"


def load(path: Path, options: Options) -> Loaded:
    from pptx import Presentation

    package.check(path, _KIND, ".ppt", options.limits)
    try:
        slides = list(Presentation(str(path)).slides)
    except Exception as exc:  # python-pptx raises zip, XML and KeyError failures alike
        raise package.failure(path, _KIND, exc) from None
    pages: list[Page] = []
    warnings: list[str] = []
    for number, slide in enumerate(slides, start=1):
        tables: list[Table] = []
        try:
            text = clean_text(blocks(_slide_lines(slide, tables)))
        except Exception as exc:  # one damaged slide must not cost the deck
            warnings.append(f"slide {number}: cannot read it ({type(exc).__name__})")
            continue
        if text or tables:
            pages.append(Page(text=text, page=None, location=f"slide {number}", tables=tuple(tables)))
    if not pages:
        raise DocumentError(path, "no text on any slide")
    return Loaded(tuple(pages), tuple(warnings))


def _slide_lines(slide: Slide, tables: list[Table]) -> Iterator[str]:
    """The slide's text blocks; its tables are added to `tables` instead."""
    title = slide.shapes.title
    caption = title.text_frame.text if title is not None and title.has_text_frame else ""
    yield from _shapes_text(slide.shapes, caption, tables)
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            first, *rest = [p.text for p in notes.paragraphs if p.text.strip()]
            yield "Notes: " + first
            yield from rest


def _shapes_text(shapes: Iterable[BaseShape], caption: str, tables: list[Table]) -> Iterator[str]:
    def position(shape: BaseShape) -> tuple[int, int]:
        return (shape.top or 0, shape.left or 0)

    for shape in sorted(shapes, key=position):
        if getattr(shape, "shapes", None) is not None:  # a group: its members, in their own order
            yield from _shapes_text(shape.shapes, caption, tables)
        elif getattr(shape, "has_table", False) and shape.has_table:
            grid = table_grid(shape.table)
            # The title names the slide's first table; a second one is told apart by its number.
            found = grids.table(grid, grids.header_rows(grid, 1), "" if tables else caption, len(tables) + 1)
            if found is None:
                yield from grids.line(grid)
            else:
                tables.append(found)
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield from (p.text for p in shape.text_frame.paragraphs)  # each bullet a block of its own


def table_grid(table: PptxTable) -> list[list[grids.Slot]]:
    """One slot per layout column: python-pptx gives every grid cell, those a merged cell covers
    empty; they take its text, marked as spanned right of its first column."""
    rows = [list(r.cells) for r in table.rows]
    grid = [[grids.Slot(c.text) for c in r] for r in rows]
    for i, r in enumerate(rows):
        for j, cell in enumerate(r):
            if cell.is_merge_origin:
                for di in range(cell.span_height):
                    for dj in range(cell.span_width):
                        if (di or dj) and i + di < len(grid) and j + dj < len(grid[i + di]):
                            grid[i + di][j + dj] = grids.Slot(cell.text, spanned=dj > 0)
    return grid
