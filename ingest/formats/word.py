"""Word (.docx) through python-docx: paragraphs and tables in document order, one page per section.

A .docx has no pages (they exist only once Word lays it out), so the place a passage is cited by is
its heading path: "section 'Setup › Warranty'". A table is kept as a table (citeqa.ingest.formats.grids):
its caption is the "Table 2: ..." paragraph just before it (or else just after it), its headers its
rows marked "repeat as header row" (else its first), and each of its rows is a passage of its own
cited as "section 'Results', Table 2". A one-row or one-column table stays in the text, a line per
row with cells joined by " | ".
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from citeqa.core.errors import DocumentError
from citeqa.core.tables import CAPTION
from citeqa.ingest.formats import grids, package
from citeqa.ingest.formats.base import Loaded, Options, Sections

if TYPE_CHECKING:
    from docx.styles.style import BaseStyle
    from docx.table import Table
    from docx.text.paragraph import Paragraph

_KIND = "Word"
_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_RUN = f"{{{_W}}}r"
_HYPERLINK = f"{{{_W}}}hyperlink"
_TABLE = f"{{{_W}}}tbl"


def load(path: Path, options: Options) -> Loaded:
    import docx
    from docx.table import Table

    package.check(path, _KIND, ".doc", options.limits)
    try:
        document = docx.Document(str(path))
        blocks = _blocks(document)
    except Exception as exc:  # python-docx raises zip, XML and KeyError failures alike
        raise package.failure(path, _KIND, exc) from None
    out = Sections()
    levels: dict[str | None, int | None] = {}  # by style id: see heading_level
    for i, block in enumerate(blocks):
        if isinstance(block, Table):
            grid = table_grid(block)
            found = grids.table(grid, grids.header_rows(grid, _marked_headers(block)), _caption(blocks, i), out.tables_here + 1)
            if found is None:
                for row in grids.line(grid):
                    out.line(row)
            else:
                out.table(found)
            continue
        text = paragraph_text(block)
        level = heading_level(block, levels)
        if level is not None:
            out.heading(level, text)
        else:
            out.line(text)
    pages = out.pages()
    if not pages:
        raise DocumentError(path, "no text in the document")
    return Loaded(pages)


def _blocks(document: Any) -> list[Paragraph | Table]:
    """The body's paragraphs and tables in order (python-docx's `iter_inner_content`), less the
    paragraphs with no content at all (`<w:p/>`: no text, no style). A proxy object and a style
    lookup for each of those made a file of 16,000 of them (37 KB) read 3 times slower than an
    ordinary file of as much XML."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    body = document._body
    return [
        Table(el, body) if el.tag == _TABLE else Paragraph(el, body)
        for el in document.element.body.inner_content_elements
        if el.tag == _TABLE or len(el)
    ]


def table_grid(table: Table) -> list[list[grids.Slot]]:
    """One slot per layout column: python-docx returns a merged cell once per column it spans (the
    same cell again: a column span) and per row (its first row's cell: spread down as it is)."""
    grid = []
    for row in table.rows:
        slots: list[grids.Slot] = []
        previous = None
        for cell in row.cells:
            text = "\n".join(paragraph_text(p) for p in cell.paragraphs)  # python-docx's cell.text, linear
            slots.append(grids.Slot(text, spanned=previous is not None and cell._tc is previous._tc))
            previous = cell
        grid.append(slots)
    return grid


def _marked_headers(table: Table) -> int:
    """Leading rows marked "repeat as header row" (w:tblHeader), which is what Word calls a header."""
    n = 0
    for row in table.rows:
        if not row._tr.xpath("./w:trPr/w:tblHeader[not(@w:val='0' or @w:val='false')]"):
            break
        n += 1
    return n


def _caption(blocks: list[Paragraph | Table], i: int) -> str:
    """The caption of the table `blocks[i]`: the paragraph before it that reads "Table 2: ..." or has
    Word's Caption style (what Insert Caption writes), else such a paragraph after it."""
    for j in (i - 1, i + 1):
        if 0 <= j < len(blocks) and not hasattr(blocks[j], "rows"):
            text = " ".join(paragraph_text(blocks[j]).split())
            style = getattr(blocks[j].style, "name", "") or ""
            if CAPTION.match(text) or (style == "Caption" and text and not text.lower().startswith(("figure", "fig."))):
                return text
    return ""


def heading_level(paragraph: Paragraph, levels: dict[str | None, int | None]) -> int | None:
    """1 for "Heading 1" (also in a document whose style names are translated, by the style's
    outline level), None for body text. The document's "Title" is text, not a section.

    Kept in `levels` by the paragraph's style id: python-docx finds a style, the default one
    included, by scanning every style of the document, so a paragraph cost 0.5 ms and 16,000
    empty ones (37 KB of .docx) took 7.6 s where an ordinary file of that size takes 0.02 s."""
    key = paragraph._p.style
    if key not in levels:
        levels[key] = _style_level(paragraph.style)
    return levels[key]


def _style_level(style: BaseStyle | None) -> int | None:
    while style is not None:
        name = style.name or ""
        if name.startswith("Heading ") and name[8:].isdigit():
            return int(name[8:])
        levels = style.element.xpath("./w:pPr/w:outlineLvl/@w:val")
        if levels and levels[0].isdigit() and int(levels[0]) < 9:
            return int(levels[0]) + 1
        style = style.base_style
    return None


# What python-docx's Run.text reads (its XPath, "w:br | w:cr | w:noBreakHyphen | w:ptab | w:t | w:tab").
_RUN_PARTS = frozenset(f"{{{_W}}}{name}" for name in ("br", "cr", "noBreakHyphen", "ptab", "t", "tab"))


def paragraph_text(paragraph: Paragraph) -> str:
    """python-docx's `Paragraph.text`, in one pass over the XML. Its own reads each run's parts
    through an XPath union, which libxml2 merges in time quadratic in the number of parts: one
    run of 64,000 characters of ". " and tabs (a 3 KB upload, deflated) took 11.8 s, 16,000 took
    0.24 s (bench/fuzz.py's docx target). Each part still says its own text (`str` of python-docx's
    element class: a tab "\t", a text-wrapping break "\n", ...), so the text is the same."""
    parts: list[str] = []
    for child in paragraph._p:
        if child.tag == _RUN:
            parts += (str(part) for part in child if part.tag in _RUN_PARTS)
        elif child.tag == _HYPERLINK:
            parts += (str(part) for run in child if run.tag == _RUN for part in run if part.tag in _RUN_PARTS)
    return "".join(parts)
