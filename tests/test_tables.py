"""Tables as evidence (issue 23): PDF tables found at ingest, each row a passage with its caption and
headers, quoted and cited. Real corpus PDFs, real milvus-lite and the bundled embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.core.sentences import sentence_spans
from citeqa.core.tables import read_row, table_name
from citeqa.core.types import Evidence
from citeqa.ingest.formats import pdf
from citeqa.ingest.formats.base import Options, clean_text


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def resnet(corpus: Path) -> Path:
    return corpus / "pdfs" / "1512.03385.pdf"


def test_pdf_table_has_caption_headers_rows_and_page(resnet: Path) -> None:
    pages = {p.page: p for p in pdf.load(resnet, Options()).pages}
    tables = {t.name: t for t in pages[6].tables}
    t4 = tables["Table 4"]
    assert t4.caption.startswith("Table 4. Error rates (%) of single-model results")
    assert t4.headers == ("method", "top-1 err.", "top-5 err.")
    rows = {r[0]: r for r in t4.rows}
    assert rows["ResNet-152"] == ("ResNet-152", "19.38", "4.49")
    assert rows["ResNet-101"] == ("ResNet-101", "19.87", "4.60")
    assert t4.bbox is not None and t4.bbox[0] < t4.bbox[2]
    # Batch normalization's results table is captioned as a figure.
    bn = {t.name: t for p in pdf.load(resnet.parent / "1502.03167.pdf", Options()).pages for t in p.tables}
    fig4 = {r[0]: r for r in bn["Figure 4"].rows}
    assert fig4["BN-Inception single crop"][4:] == ("25.2%", "7.82%")
    assert bn["Figure 4"].headers[-2:] == ("Top-1 error", "Top-5 error")


def test_every_cell_is_verbatim_in_the_page_text(resnet: Path) -> None:
    import pypdf

    raw = {n: _squash(clean_text(p.extract_text())) for n, p in enumerate(pypdf.PdfReader(resnet).pages, 1)}
    for page in pdf.load(resnet, Options()).pages:
        for table in page.tables:
            for row in table.rows:
                for cell in row:
                    assert _squash(cell) in raw[page.page], (table.name, cell)


def test_prose_around_a_table_holds_no_row_of_cells(resnet: Path) -> None:
    page6 = next(p for p in pdf.load(resnet, Options()).pages if p.page == 6)
    sentences = [_squash(page6.text[s:e]) for s, e in sentence_spans(page6.text)]
    assert not any("19.38" in s or "21.43" in s for s in sentences)  # Table 4's and Table 3's cells
    assert any("ResNet reduces the top-1 error by 3.5%" in s for s in sentences)  # the prose stays


def test_search_finds_the_row_with_caption_and_headers(engine, resnet: Path) -> None:
    engine.ingest([resnet])
    for mode in ("bm25", "dense"):
        hits = engine.search("ResNet-152 top-5 error single-model", top_k=5, mode=mode)
        rows = [h for h in hits if table_name(h.location) == "Table 4"]
        assert rows, (mode, [h.location for h in hits])
        row = read_row(rows[0].text)
        assert row is not None and rows[0].page == 6
        assert row.headers == ("method", "top-1 err.", "top-5 err.")
        assert row.caption.startswith("Table 4.")
    hit = next(h for h in engine.search("ResNet-152 top-1 err. 19.38", top_k=5, mode="bm25") if table_name(h.location))
    row = read_row(hit.text)
    assert row is not None and row.row == "ResNet-152: top-1 err. 19.38 · top-5 err. 4.49"  # whole, never split
    ev = Evidence(n=1, hit=hit, start=row.row_start, end=len(hit.text), quote=row.row, score=1.0)
    assert ev.label() == "Table 4, 1512.03385.pdf, p. 6"
    d = ev.to_dict()
    assert d["kind"] == "table_row" and d["table"] == "Table 4" and d["headers"] == ["method", "top-1 err.", "top-5 err."]
    assert d["caption"].startswith("Table 4. Error rates")


def test_page_view_boxes_the_row_inside_its_table(resnet: Path) -> None:
    """The quote of a row is its line read with headers, which the page never prints: the page view
    looks for its cells as the page runs them, and boxes them within the table."""
    import pypdfium2 as pdfium

    from citeqa.app.pages import match_spans, needles_for, render_page
    from citeqa.core.types import Hit

    t4 = next(t for p in pdf.load(resnet, Options()).pages if p.page == 6 for t in p.tables if t.name == "Table 4")
    text = next(x for x in t4.passages() if "ResNet-152:" in x)
    row = read_row(text)
    assert row is not None and row.cells() == ("ResNet-152", "19.38", "4.49")
    hit = Hit("c", str(resnet), 6, text, 1.0, location="Table 4")
    needles = needles_for(hit, row.row)
    assert needles[0] == "ResNet-152 19.38 4.49"
    assert render_page(resnet, 6, needles).highlighted
    doc = pdfium.PdfDocument(str(resnet))
    try:
        page = doc[5]
        chars = page.get_textpage()
        spans = match_spans([chars.get_text_range(i, 1) for i in range(chars.count_chars())], needles[0])
        assert spans
        height = page.get_height()
        x0, top, x1, bottom = t4.bbox
        for a, b in spans:
            for left, low, right, high in (chars.get_charbox(i) for i in range(a, b)):
                assert x0 - 1 <= left and right <= x1 + 1 and top - 1 <= height - high and height - low <= bottom + 1
    finally:
        doc.close()
    # An ordinary passage still looks for its quote, then itself.
    prose = Hit("c", str(resnet), 6, "Some prose. More.", 1.0)
    assert needles_for(prose, "Some prose.") == ("Some prose.", "Some prose. More.")
