"""Saved web pages (.html, .htm) through trafilatura: the main text only, by heading sections.

Chosen by measurement against readability-lxml and a plain tag stripper (selectolax) on Node.js
API pages from Debian's nodejs docs and a generated news page with menu, sidebar, cookie banner,
comments and scripts: trafilatura kept 85-92% of the main text's words with 0-4% of the
boilerplate's, and tables as rows; readability kept 79-92% with none, but ran block text together
("timetableBy Ana Ruiz", table cells with no separator); the stripper kept everything, 26-80% of
the boilerplate included. The page is parsed by lxml, never run: scripts are dropped unread.

Tables are kept as tables (citeqa.ingest.formats.grids), each row a passage of its own cited as
"section 'Results', Table 2". trafilatura's output keeps a table's cells but not its structure
(its <caption> becomes a row, rowspans are lost, only the first header row is marked), so each
table it keeps is read again from the page itself: caption, <thead> rows (or leading rows of <th>
cells) joined per column as headers, colspans and rowspans spread over the grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.core.errors import DocumentError
from citeqa.ingest.formats import grids, html_prune
from citeqa.ingest.formats.base import Loaded, Options, Sections
from citeqa.ingest.formats.text import looks_binary

if TYPE_CHECKING:
    from lxml.etree import _Element

# Elements of trafilatura's XML output that hold a block of text.
_BLOCKS = {"p", "quote", "code", "item", "cell"}


def load(path: Path, options: Options) -> Loaded:
    data = path.read_bytes()
    if not data.strip():
        raise DocumentError(path, "empty file")
    if looks_binary(data[:8192]):
        raise DocumentError(path, "binary content, not an HTML page")
    pages = extract(data).pages()
    if not pages:
        raise DocumentError(path, "no text in the page")
    return Loaded(pages)


def extract(data: bytes, *, favor_recall: bool = False) -> Sections:
    """The main text of an HTML document, by heading sections."""
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(
        _parsed(data),
        output_format="xml",
        include_tables=True,
        include_comments=False,
        with_metadata=True,
        favor_recall=favor_recall,
    )
    out = Sections()
    if xml is None:
        # Too little text for trafilatura to call anything the main content (a short note saved as
        # HTML): all of the page's visible text then, scripts and styles still dropped.
        out.line(trafilatura.html2txt(_parsed(data)))
        return out
    root = etree.fromstring(xml.encode("utf-8"))
    title = " ".join((root.get("title") or "").split())
    main = root.find("main")
    if main is None:
        return out
    heads = [" ".join("".join(h.itertext()).split()) for h in main.iter("head")]
    if title and title not in heads:
        out.line(title)  # the page's title leads its text, as a PDF's first line does
    # A page's one h1 is its title: text, not a section every passage would be cited under.
    title_h1 = sum(1 for h in main.iter("head") if _level(h) == 1) == 1
    source = _PageTables(data)
    for el in main:
        _block(el, out, title_h1, source)
    return out


def _parsed(data: bytes) -> _Element | bytes:
    """The page parsed as trafilatura parses it, then pruned in linear time (html_prune); the bytes
    themselves where trafilatura's parser gives up, so it can say so in its own way."""
    from trafilatura.utils import load_html

    tree = load_html(data)
    return data if tree is None else html_prune.prune(tree)


def _level(head: _Element) -> int:
    rend = head.get("rend") or "h1"
    return int(rend[1]) if rend[1:].isdigit() else 1


def _block(el: _Element, out: Sections, title_h1: bool, source: _PageTables) -> None:
    if el.tag == "head":
        if title_h1 and _level(el) == 1:
            out.line(_text(el))
        else:
            out.heading(_level(el), _text(el))
    elif el.tag == "table":
        rows = [[_text(c) for c in row.iter("cell")] for row in el.iter("row")]
        grid, n_headers, caption = source.matching(rows)
        found = grids.table(grid, n_headers, caption, out.tables_here + 1)
        if found is None:
            for row in grids.line(grid):
                out.line(row)
        else:
            out.table(found)
    elif el.tag == "list":
        for item in el.iter("item"):
            out.line(_text(item))
    elif el.tag in _BLOCKS:
        out.line(_text(el))
    else:
        for child in el:
            _block(child, out, title_h1, source)


def _text(el: _Element) -> str:
    for lb in el.iter("lb"):  # a line break inside a paragraph must still part its words
        lb.tail = "\n" + (lb.tail or "")
    return "".join(el.itertext()).strip()


class _PageTables:
    """The page's own tables (lxml.html), matched to those trafilatura kept by their cells' text."""

    def __init__(self, data: bytes) -> None:
        self._tables: list[tuple[list[list[grids.Slot]], int, str]] = []
        self._used: set[int] = set()
        try:
            import lxml.html

            root = lxml.html.fromstring(data)
        except Exception:  # lxml refuses some pages trafilatura reads: their tables go as trafilatura has them
            return
        for table in root.iter("table"):
            if table.find(".//table") is None:  # a layout table around others is no table of values
                self._tables.append(_page_table(table))

    def matching(self, rows: list[list[str]]) -> tuple[list[list[grids.Slot]], int, str]:
        """(grid, header rows, caption) of the page's table whose cells are those of `rows`
        (trafilatura's), or `rows` itself read as having one header row and no caption."""
        cells = {grids.squash(c) for r in rows for c in r} - {""}
        best, score = -1, 0.5  # at least half the cells in common
        for i, (grid, _, _) in enumerate(self._tables):
            if i in self._used:
                continue
            theirs = {grids.squash(s.text) for r in grid for s in r} - {""}
            common = len(cells & theirs) / max(len(cells | theirs), 1)
            if common > score:
                best, score = i, common
        if best < 0:
            return [[grids.Slot(c) for c in r] for r in rows if any(r)], 1, ""
        self._used.add(best)
        return self._tables[best]


def _page_table(table: _Element) -> tuple[list[list[grids.Slot]], int, str]:
    """A <table>'s grid, how many of its rows are headers, and its caption (<caption>, or the
    <figcaption> of the <figure> it is in)."""
    rows = [tr for tr in table.iter("tr") if _owner(tr) is table]
    spans = [
        [(grids.squash(td.text_content()), _span(td, "colspan"), _span(td, "rowspan")) for td in tr if td.tag in ("td", "th")]
        for tr in rows
    ]
    in_head = sum(1 for tr in rows if tr.getparent().tag == "thead")
    if not in_head:  # no <thead>: the leading rows of <th> cells only
        for tr in rows:
            cells = [td for td in tr if td.tag in ("td", "th")]
            if not cells or any(td.tag != "th" for td in cells):
                break
            in_head += 1
    grid = grids.spread(spans)
    caption_el = table.find("caption")
    if caption_el is None and table.getparent() is not None and table.getparent().tag == "figure":
        caption_el = table.getparent().find("figcaption")
    caption = grids.squash(caption_el.text_content()) if caption_el is not None else ""
    return grid, grids.header_rows(grid, in_head), caption


def _owner(tr: _Element) -> _Element | None:
    el = tr.getparent()
    while el is not None and el.tag != "table":
        el = el.getparent()
    return el


def _span(td: _Element, name: str) -> int:
    value = (td.get(name) or "1").strip()
    return min(int(value), 1000) if value.isdigit() and int(value) > 0 else 1  # a page's typo, or a huge span, is no span
