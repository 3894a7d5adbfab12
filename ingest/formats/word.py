"""Word (.docx) through python-docx: paragraphs and tables in document order, one page per section.

A .docx has no pages (they exist only once Word lays it out), so the place a passage is cited by is
its heading path: "section 'Setup › Warranty'". Tables become one line per row, cells joined by
" | ", which reads naturally and keeps a row's facts together in one chunk.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.core.errors import DocumentError
from citeqa.ingest.formats import package
from citeqa.ingest.formats.base import Loaded, Options, Sections

if TYPE_CHECKING:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

_KIND = "Word"


def load(path: Path, options: Options) -> Loaded:
    import docx
    from docx.table import Table

    package.check(path, _KIND, ".doc")
    try:
        document = docx.Document(str(path))
        blocks = list(document.iter_inner_content())
    except Exception as exc:  # python-docx raises zip, XML and KeyError failures alike
        raise package.failure(path, _KIND, exc) from None
    out = Sections()
    for block in blocks:
        if isinstance(block, Table):
            for row in table_rows(block):
                out.line(row)
            continue
        level = heading_level(block)
        if level is not None:
            out.heading(level, block.text)
        else:
            out.line(block.text)
    pages = out.pages()
    if not pages:
        raise DocumentError(path, "no text in the document")
    return Loaded(pages)


def table_rows(table: Table) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = " ".join(cell.text.split())
            # A merged cell is returned once per grid column it spans: keep it once.
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def heading_level(paragraph: Paragraph) -> int | None:
    """1 for "Heading 1" (also in a document whose style names are translated, by the style's
    outline level), None for body text. The document's "Title" is text, not a section."""
    style = paragraph.style
    while style is not None:
        name = style.name or ""
        if name.startswith("Heading ") and name[8:].isdigit():
            return int(name[8:])
        levels = style.element.xpath("./w:pPr/w:outlineLvl/@w:val")
        if levels and levels[0].isdigit() and int(levels[0]) < 9:
            return int(levels[0]) + 1
        style = style.base_style
    return None
