"""A cited PDF page as a PNG, with the quoted passage boxed where the text layer allows.

pypdfium2 renders the page; the passage is located in pdfium's own text layer
(whose spacing, hyphenation and ligatures differ from what ingestion
extracted), by matching letters and digits only, and its character boxes are
drawn as translucent rectangles with PIL. A scanned page has no text layer: its
text was read by OCR at ingest, so it is read again here, and the boxes of the
words that match are drawn. Measured: 2-5 s a page on 2 busy cores, once per
page and quote (the web app caches the image), against keeping every OCR'd
page's word boxes beside the index, which would have to follow every re-ingest
and removal.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.core.errors import OcrError
from citeqa.core.tables import read_row, table_name
from citeqa.ingest.formats.base import ReadLimits
from citeqa.ingest.ocr import DPI, PDFIUM, Ocr
from citeqa.ingest.render import render

if TYPE_CHECKING:
    from PIL.Image import Image

    from citeqa.core.types import Hit

Rect = tuple[float, float, float, float]  # left, bottom, right, top in PDF units
Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels of the rendered page
_MIN_MATCH = 16  # letters/digits: shorter fragments match by chance
TARGET_WIDTH_PX = 1000


@dataclass(frozen=True)
class RenderedPage:
    png: bytes
    highlighted: bool
    pages: int


def _normalize(chars: Sequence[str]) -> tuple[str, list[int]]:
    """Lower-cased letters and digits of `chars`, each with the index of the char it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(chars):
        for c in unicodedata.normalize("NFKC", ch).casefold():
            if c.isalnum():
                out.append(c)
                where.append(i)
    return "".join(out), where


def _longest(hay: str, needle: str, *, from_start: bool) -> tuple[int, int] | None:
    """Span in `hay` of the longest prefix (or suffix) of `needle` found there."""

    def find(n: int) -> int:
        return hay.find(needle[:n] if from_start else needle[len(needle) - n :])

    lo, hi, best = _MIN_MATCH, len(needle), None
    while lo <= hi:
        mid = (lo + hi) // 2
        i = find(mid)
        if i >= 0:
            best, lo = (i, i + mid), mid + 1
        else:
            hi = mid - 1
    return best


def match_spans(page_chars: Sequence[str], needle: str) -> list[tuple[int, int]]:
    """Char-index spans (inclusive start, exclusive end) of `needle` in the page's characters.

    The whole needle if it is there; otherwise its longest matching beginning and end.
    """
    hay, where = _normalize(page_chars)
    pat, _ = _normalize(list(needle))
    if not pat or not hay:
        return []
    spans: list[tuple[int, int]] = []
    i = hay.find(pat)
    if i >= 0:
        found = [(i, i + len(pat))]
    elif len(pat) < _MIN_MATCH:
        found = []
    else:
        found = [s for s in (_longest(hay, pat, from_start=True), _longest(hay, pat, from_start=False)) if s]
    for a, b in found:
        span = (where[a], where[b - 1] + 1)
        if span not in spans:
            spans.append(span)
    return spans


def _to_pixels(rect: Rect, crop: Rect, rotation: int, scale: float) -> tuple[float, float, float, float]:
    left, bottom, right, top = rect
    c_left, c_bottom, c_right, c_top = crop
    w, h = c_right - c_left, c_top - c_bottom
    corners = []
    for x, y in ((left, top), (right, bottom)):
        u, v = x - c_left, c_top - y  # top-down coordinates on the unrotated page
        if rotation == 90:
            u, v = h - v, u
        elif rotation == 180:
            u, v = w - u, h - v
        elif rotation == 270:
            u, v = v, w - u
        corners.append((u * scale, v * scale))
    (x0, y0), (x1, y1) = corners
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def needles_for(hit: Hit, quote: str) -> tuple[str, ...]:
    """What to look for on the page to box `quote` of `hit`, best first: the quote, then the passage.
    A table row's quote is its line read with its headers ("ResNet-152: top-1 err. 19.38 · top-5
    err. 4.49"), which the page never prints: its cells are looked for as the page runs them
    ("ResNet-152 19.38 4.49", within the row's line on the page), then the table's caption."""
    row = read_row(hit.text) if table_name(hit.location) else None
    if row is not None and (not quote or quote.strip() in row.row):
        return tuple(x for x in (" ".join(row.cells()), row.caption) if x)
    return tuple(x for x in (quote, hit.text) if x)


def render_page(
    path: str | Path, page: int, needles: Sequence[str] = (), *, max_pixels: int | None = None
) -> RenderedPage:
    """Page `page` (1-based) of the PDF at `path` as PNG, boxing the first of `needles` found.

    Raises OSError / ValueError (pypdfium2's PdfiumError is a subclass of RuntimeError) on a bad
    file; TooLarge on a page that would render to more than `max_pixels` pixels (default:
    CITEQA_MAX_PAGE_PIXELS's), the OCR'd image of a scan included.
    """
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    scan: Image | None = None
    with PDFIUM:
        pdf = pdfium.PdfDocument(str(path))
        try:
            n_pages = len(pdf)
            if not 1 <= page <= n_pages:
                raise ValueError(f"page {page} is outside the document (1–{n_pages})")
            pg = pdf[page - 1]
            crop = tuple(pg.get_cropbox())
            rotation = pg.get_rotation() % 360
            width = (crop[3] - crop[1]) if rotation in (90, 270) else (crop[2] - crop[0])
            scale = max(0.5, min(3.0, TARGET_WIDTH_PX / max(width, 1.0)))
            cap = max_pixels if max_pixels is not None else ReadLimits().page_pixels
            image = render(pg, scale, cap, number=page).convert("RGBA")
            rects: list[Rect] = []
            textpage = pg.get_textpage()
            n = textpage.count_chars()
            chars = [pdfium.raw.FPDFText_GetUnicode(textpage, i) for i in range(n)]
            chars = [chr(c) if 0 < c < 0x110000 else " " for c in chars]
            for needle in needles:
                spans = match_spans(chars, needle)
                for a, b in spans:
                    k = textpage.count_rects(a, b - a)
                    rects.extend(textpage.get_rect(j) for j in range(k))
                if rects:
                    break
            if n == 0 and needles:  # a scan: its words are found by OCR, outside the lock
                scan = render(pg, DPI / 72, cap, number=page, grayscale=True)
        finally:
            pdf.close()

    boxes = [_to_pixels(r, crop, rotation, scale) for r in rects]  # type: ignore[arg-type]
    if scan is not None:
        boxes = ocr_boxes(scan, needles, scale / (DPI / 72))
    if boxes:
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for x0, y0, x1, y1 in boxes:
            draw.rectangle(
                (x0 - 2, y0 - 2, x1 + 2, y1 + 2), fill=(255, 214, 0, 90), outline=(230, 140, 0, 255), width=2
            )
        image = Image.alpha_composite(image, overlay)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG", optimize=False)
    return RenderedPage(buf.getvalue(), bool(boxes), n_pages)


def ocr_boxes(scan: Image, needles: Sequence[str], factor: float, ocr: Ocr | None = None) -> list[Box]:
    """Boxes (scaled by `factor` from the scan's pixels) of the OCR'd words of the first of
    `needles` found on the scanned page `scan`; none where OCR cannot run or finds no match."""
    ocr = ocr or Ocr()
    if ocr.problem():
        return []
    try:
        words = ocr.read(scan, dpi=DPI).words
    except OcrError:
        return []
    chars: list[str] = []
    owner: list[int] = []  # the word each character belongs to; -1 for the spaces between words
    for i, w in enumerate(words):
        if chars:
            chars.append(" ")
            owner.append(-1)
        chars.extend(w.text)
        owner.extend([i] * len(w.text))
    for needle in needles:
        hit = sorted({owner[k] for a, b in match_spans(chars, needle) for k in range(a, b) if owner[k] >= 0})
        if hit:
            return [tuple(v * factor for v in words[i].box) for i in hit]  # type: ignore[misc]
    return []
