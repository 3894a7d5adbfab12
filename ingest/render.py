"""A PDF page as an image, refused before pdfium allocates it when it would be too large.

pdfium allocates the whole bitmap first: a 40,000-point square page (a poster, or a hostile file
of a few hundred bytes) rendered at OCR's 200 dpi is 12 billion pixels, and at the page view's
smallest scale still 400 million (1.6 GB RGBA). The size is known from the page's box before
rendering, so a page over CITEQA_MAX_PAGE_PIXELS is refused with a TooLarge naming it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from citeqa.core.errors import TooLarge

if TYPE_CHECKING:
    from PIL.Image import Image
    from pypdfium2 import PdfPage

SETTING = "CITEQA_MAX_PAGE_PIXELS"


def check_pixels(page: PdfPage, scale: float, max_pixels: int, number: int | None = None) -> None:
    """Raise TooLarge when `page` rendered at `scale` (pixels per PDF point) would have more than
    `max_pixels` pixels; `number` names the page in the message."""
    width, height = page.get_size()  # points, as pdfium renders it (crop box, rotation)
    w, h = round(width * scale), round(height * scale)
    if w * h > max_pixels:
        which = f"page {number}" if number is not None else "the page"
        raise TooLarge(
            f"{which} is {width:,.0f} × {height:,.0f} points: rendered it would be {w:,} × {h:,} pixels, "
            f"over the limit of {max_pixels:,} pixels ({SETTING}); not rendered",
            SETTING,
        )


def render(
    page: PdfPage, scale: float, max_pixels: int, *, number: int | None = None, grayscale: bool = False
) -> Image:
    """`page` rendered at `scale` as a PIL image, after check_pixels. The caller holds PDFIUM."""
    check_pixels(page, scale, max_pixels, number)
    return page.render(scale=scale, grayscale=grayscale).to_pil()
