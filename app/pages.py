"""A cited PDF page as a PNG, with the quoted passage boxed where the text layer allows.

pypdfium2 renders the page; the passage is located in pdfium's own text layer
(whose spacing, hyphenation and ligatures differ from what ingestion
extracted), by matching letters and digits only, and its character boxes are
drawn as translucent rectangles with PIL.
"""

from __future__ import annotations

import io
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

Rect = tuple[float, float, float, float]  # left, bottom, right, top in PDF units

_PDFIUM = threading.Lock()  # pdfium is not thread-safe; sessions render one at a time
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


def render_page(path: str | Path, page: int, needles: Sequence[str] = ()) -> RenderedPage:
    """Page `page` (1-based) of the PDF at `path` as PNG, boxing the first of `needles` found.

    Raises OSError / ValueError (pypdfium2's PdfiumError is a subclass of RuntimeError) on a bad file.
    """
    import pypdfium2 as pdfium
    from PIL import Image, ImageDraw

    with _PDFIUM:
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
            image = pg.render(scale=scale).to_pil().convert("RGBA")
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
        finally:
            pdf.close()

    if rects:
        overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
        draw = ImageDraw.Draw(overlay)
        for r in rects:
            x0, y0, x1, y1 = _to_pixels(r, crop, rotation, scale)  # type: ignore[arg-type]
            draw.rectangle(
                (x0 - 2, y0 - 2, x1 + 2, y1 + 2), fill=(255, 214, 0, 90), outline=(230, 140, 0, 255), width=2
            )
        image = Image.alpha_composite(image, overlay)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="PNG", optimize=False)
    return RenderedPage(buf.getvalue(), bool(rects), n_pages)
