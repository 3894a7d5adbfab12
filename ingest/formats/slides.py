"""PowerPoint (.pptx) through python-pptx: one page per slide, cited as "slide 7".

A slide's text is its text boxes in reading order (top to bottom, then left to right), each
paragraph (bullet) a block of its own, its tables one block per row, and its speaker notes, which
often say what the slide only shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.core.errors import DocumentError
from citeqa.core.types import Page
from citeqa.ingest.formats import package
from citeqa.ingest.formats.base import Loaded, Options, blocks, clean_text

if TYPE_CHECKING:
    from pptx.shapes.base import BaseShape
    from pptx.slide import Slide

_KIND = "PowerPoint"


def load(path: Path, options: Options) -> Loaded:
    from pptx import Presentation

    package.check(path, _KIND, ".ppt")
    try:
        slides = list(Presentation(str(path)).slides)
    except Exception as exc:  # python-pptx raises zip, XML and KeyError failures alike
        raise package.failure(path, _KIND, exc) from None
    pages: list[Page] = []
    warnings: list[str] = []
    for number, slide in enumerate(slides, start=1):
        try:
            text = clean_text(blocks(_slide_lines(slide)))
        except Exception as exc:  # one damaged slide must not cost the deck
            warnings.append(f"slide {number}: cannot read it ({type(exc).__name__})")
            continue
        if text:
            pages.append(Page(text=text, page=None, location=f"slide {number}"))
    if not pages:
        raise DocumentError(path, "no text on any slide")
    return Loaded(tuple(pages), tuple(warnings))


def _slide_lines(slide: Slide) -> Iterator[str]:
    yield from _shapes_text(slide.shapes)
    if slide.has_notes_slide:
        notes = slide.notes_slide.notes_text_frame
        if notes is not None and notes.text.strip():
            first, *rest = [p.text for p in notes.paragraphs if p.text.strip()]
            yield "Notes: " + first
            yield from rest


def _shapes_text(shapes: Iterable[BaseShape]) -> Iterator[str]:
    def position(shape: BaseShape) -> tuple[int, int]:
        return (shape.top or 0, shape.left or 0)

    for shape in sorted(shapes, key=position):
        if getattr(shape, "shapes", None) is not None:  # a group: its members, in their own order
            yield from _shapes_text(shape.shapes)
        elif getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                cells = [" ".join(c.text.split()) for c in row.cells]
                if any(cells):
                    yield " | ".join(c for c in cells if c)
        elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
            yield from (p.text for p in shape.text_frame.paragraphs)  # each bullet a block of its own
