"""PDF: one page per PDF page, numbered from 1; pages without a text layer read by OCR.

pypdf extracts the text layer. A page with (almost) no text but an image on it is a scan: it is
rendered with pypdfium2 and read by the OCR engine, so a mixed PDF OCRs only the pages that need it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.core.errors import DocumentError, DocumentTooLarge, OcrError, TooLarge
from citeqa.core.tables import Table
from citeqa.core.types import Page
from citeqa.ingest.formats import pdf_tables
from citeqa.ingest.formats.base import STALLED, Loaded, Options, clean_text, short
from citeqa.ingest.formats.hyphens import dehyphenate
from citeqa.ingest.ocr import DPI, PDFIUM
from citeqa.ingest.render import render

if TYPE_CHECKING:
    from pypdfium2 import PdfPage

# A page whose text layer has fewer letters and digits than this is taken for a scan when it
# carries an image (a scanner's stamp or a page number alone must not hide the page's text).
_MIN_TEXT_CHARS = 20


def load(path: Path, options: Options) -> Loaded:
    import pypdf
    from pypdf.errors import DependencyError

    # pypdf logs every odd font or xref entry at WARNING; to a user ingesting a folder that is noise.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(path)
        # The reader has already tried the empty password, which opens "owner-password only" files.
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(path, "encrypted PDF (password required)")
        page_objs = list(reader.pages)
    except (DocumentError, OSError):
        raise
    except DependencyError as exc:
        raise _no_crypto(path, exc) from None
    except Exception as exc:  # pypdf raises PdfReadError, PdfStreamError, but also bare ValueError/KeyError
        raise DocumentError(path, f"corrupt or truncated PDF ({short(exc)})") from None
    if not page_objs:
        raise DocumentError(path, "PDF has no pages")

    texts: dict[int, str] = {}
    warnings: list[str] = []
    errors: list[str] = []
    for number, page in enumerate(page_objs, start=1):
        # A page whose reading made no progress in an earlier try (a malformed page can make pypdf
        # loop) is left out, and the rest of the file read.
        if not options.step(f"page {number}"):
            warnings.append(f"page {number}: text extraction failed ({STALLED})")
            continue
        try:
            texts[number] = clean_text(page.extract_text() or "")
        except DependencyError as exc:
            # AES-128 files pass the password check without the crypto library, then fail on every page.
            raise _no_crypto(path, exc) from None
        except Exception as exc:  # one bad page must not cost the rest of the file
            errors.append(short(exc))
            warnings.append(f"page {number}: text extraction failed ({short(exc)})")
    del reader, page_objs

    tables = _tables(path, texts, warnings) if options.step("tables") else _no_tables(warnings)
    options.step()
    sparse = [n for n, t in texts.items() if sum(ch.isalnum() for ch in t) < _MIN_TEXT_CHARS]
    refused: list[TooLarge] = []
    scanned, read = (
        (0, 0) if not sparse or options.ocr is None else _ocr_pages(path, sparse, options, texts, warnings, refused)
    )
    numbers = sorted(texts)
    joined = dehyphenate(texts[n] for n in numbers)
    pages = tuple(Page(text=t, page=n, tables=tables.get(n, ())) for n, t in zip(numbers, joined, strict=True) if t)
    if not pages:
        if errors:
            raise DocumentError(path, f"corrupt or truncated PDF ({errors[0]})")
        if refused:  # the scans were too large to render: say so, not "no text"
            raise DocumentTooLarge(path, str(refused[0]), refused[0].setting)
        if scanned and options.ocr is not None and not options.ocr.problem():
            raise DocumentError(path, "no text found, even by OCR")
        problem = options.ocr.problem() if options.ocr is not None and scanned else ""
        raise DocumentError(path, "no extractable text; scanned?" + (f" ({problem})" if problem else ""))
    return Loaded(pages, tuple(warnings), read)


def _tables(path: Path, texts: dict[int, str], warnings: list[str]) -> dict[int, tuple[Table, ...]]:
    """The tables of the pages that look as if they have one (citeqa.ingest.formats.pdf_tables),
    their cells taken out of the pages' text in `texts`. A failure costs the tables, not the file."""
    try:
        found = pdf_tables.find(path, pdf_tables.candidates(texts))
    except Exception as exc:  # pdfminer raises its own errors, and bare ones, on odd files
        warnings.append(f"tables not read ({short(exc)})")
        return {}
    kept: dict[int, tuple[Table, ...]] = {}
    for n, page_tables in found.items():
        # A row is quoted as the document's own words: a table with a cell that is not in the
        # page's text (a rotated axis label read backwards, ")%(") is no table of it.
        page_tables = [t for t in page_tables if pdf_tables.verbatim(t, texts[n])]
        if page_tables:
            texts[n] = pdf_tables.without_tables(texts[n], page_tables)
            kept[n] = tuple(page_tables)
    return kept


def _no_tables(warnings: list[str]) -> dict[int, tuple[Table, ...]]:
    warnings.append(f"tables not read ({STALLED})")
    return {}


def _ocr_pages(
    path: Path, numbers: list[int], options: Options, texts: dict[int, str], warnings: list[str], refused: list[TooLarge]
) -> tuple[int, int]:
    """OCR those of pages `numbers` that carry an image, replacing their text in `texts`. Returns
    (pages with an image, pages OCR read text from). A page OCR fails on keeps its text layer,
    with a warning; one too large to render (CITEQA_MAX_PAGE_PIXELS) too, and goes to `refused`.
    pdfium is locked only while it works, not while Tesseract reads."""
    import pypdfium2 as pdfium

    ocr = options.ocr
    assert ocr is not None
    try:
        with PDFIUM:
            pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:  # pypdf read it, pdfium cannot: keep what pypdf found
        warnings.append(f"pages without a text layer not read: cannot render the PDF ({short(exc)})")
        return 0, 0
    try:
        with PDFIUM:
            scans = [n for n in numbers if _has_image(pdf[n - 1])]
        if scans and ocr.problem():
            if any(texts.values()):  # other pages have text: the file is still worth having
                warnings.append(f"{_pages(scans)} without a text layer not read: {ocr.problem()}")
            return len(scans), 0
        read = 0
        for n in scans:
            if not options.step(f"page {n} OCR"):
                warnings.append(f"page {n}: OCR failed ({STALLED})")
                continue
            try:
                with PDFIUM:
                    image = render(pdf[n - 1], DPI / 72, options.limits.page_pixels, number=n, grayscale=True)
                text = clean_text(ocr.read(image, dpi=DPI).text)
            except TooLarge as exc:
                refused.append(exc)
                warnings.append(f"page {n}: not read by OCR: {exc}")
                continue
            except OcrError as exc:  # one page, not the file
                warnings.append(f"page {n}: OCR failed ({short(exc)})")
                continue
            if text:
                texts[n] = text
                read += 1
        return len(scans), read
    finally:
        with PDFIUM:
            pdf.close()


def _has_image(page: PdfPage) -> bool:
    import pypdfium2 as pdfium

    return any(True for _ in page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE]))


def _pages(numbers: list[int]) -> str:
    return f"page {numbers[0]}" if len(numbers) == 1 else f"{len(numbers)} pages"


def _no_crypto(path: Path, exc: Exception) -> DocumentError:
    return DocumentError(path, f"encrypted PDF (cannot decrypt: {short(exc)})")
