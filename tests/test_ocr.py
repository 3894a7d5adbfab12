"""Scanned PDFs: pages rendered to images (pypdfium2) and wrapped back into PDFs without a text
layer, read by Tesseract, counted, cited by page, and boxed in the page view."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.core.errors import DocumentError
from citeqa.ingest.loaders import load
from citeqa.ingest.ocr import Ocr
from tests.conftest import CORPUS, SAMPLE_DOCS, make_settings

CAP = 100 * 2**20
SAMPLE_PDF = SAMPLE_DOCS / "aurora_lake_field_station_2023.pdf"

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="Tesseract is not installed (make install, or apt-get install tesseract-ocr)"
)


def _images(pdf: Path, pages: list[int], dpi: int = 150) -> list:
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(str(pdf))
    try:
        return [doc[p - 1].render(scale=dpi / 72).to_pil().convert("L") for p in pages]
    finally:
        doc.close()


def scanned(src: Path, pages: list[int], dst: Path) -> Path:
    """A PDF of `pages` of `src` as images only, as a scanner makes it."""
    images = _images(src, pages)
    images[0].save(dst, "PDF", resolution=150, save_all=True, append_images=images[1:])
    return dst


def mixed(dst: Path) -> Path:
    """Page 1 and 3 with a text layer; page 2 a scan of the sample PDF's page 2."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    (scan,) = _images(SAMPLE_PDF, [2])
    c = canvas.Canvas(str(dst))
    c.drawString(72, 720, "Field notes, first page: the station opened in spring.")
    c.showPage()
    width, height = c._pagesize
    c.drawImage(ImageReader(scan), 0, 0, width=width, height=height)
    c.showPage()
    c.drawString(72, 720, "Field notes, third page: the boat was repaired in June.")
    c.showPage()
    c.save()
    return dst


def _reason(path: Path, **kw) -> str:
    with pytest.raises(DocumentError) as info:
        load(path, max_bytes=CAP, **kw)
    return info.value.reason


@needs_tesseract
def test_mixed_pdf_ocrs_only_the_scanned_page(tmp_path: Path) -> None:
    doc = load(mixed(tmp_path / "mixed.pdf"), max_bytes=CAP, ocr=Ocr())
    assert doc.ocr_pages == 1 and doc.warnings == ()
    pages = {p.page: " ".join(p.text.split()) for p in doc.pages}
    assert sorted(pages) == [1, 2, 3]
    assert pages[1] == "Field notes, first page: the station opened in spring."
    assert pages[3] == "Field notes, third page: the boat was repaired in June."
    assert "47 metres" in pages[2]  # the sample PDF's page 2, read from pixels


def test_ocr_off_reports_scans_as_today(tmp_path: Path) -> None:
    path = scanned(SAMPLE_PDF, [1, 2], tmp_path / "scan.pdf")
    assert _reason(path) == "no extractable text; scanned?"
    doc = load(mixed(tmp_path / "mixed.pdf"), max_bytes=CAP)  # no OCR: the scanned page is left out
    assert [p.page for p in doc.pages] == [1, 3] and doc.ocr_pages == 0


def test_missing_tesseract_is_named_with_its_install_command(tmp_path: Path, monkeypatch) -> None:
    path = scanned(SAMPLE_PDF, [1], tmp_path / "scan.pdf")
    monkeypatch.setenv("PATH", str(tmp_path))  # no tesseract on it
    assert _reason(path, ocr=Ocr()) == (
        "no extractable text; scanned? (the OCR engine Tesseract is not installed: "
        "apt-get install tesseract-ocr (or `make install`))"
    )
    doc = load(mixed(tmp_path / "mixed.pdf"), max_bytes=CAP, ocr=Ocr())
    assert [p.page for p in doc.pages] == [1, 3]
    assert doc.warnings == ("page 2 without a text layer not read: the OCR engine Tesseract is not installed: "
                            "apt-get install tesseract-ocr (or `make install`)",)


@needs_tesseract
def test_ingest_counts_ocr_pages_and_ocr_off_setting(tmp_path: Path, embedder) -> None:
    from citeqa.engine import Citeqa

    folder = tmp_path / "docs"
    folder.mkdir()
    mixed(folder / "mixed.pdf")
    results = []
    with Citeqa(make_settings(tmp_path / "on"), embedder=embedder) as qa:
        report = qa.ingest([folder], on_progress=lambda p: p.result and results.append(p.result))
        assert report.ocr_pages == 1 and report.to_dict()["ocr_pages"] == 1
        assert [r.ocr_pages for r in results] == [1]
        hit = qa.search("What was the maximum depth of Aurora Lake in metres?", top_k=1)[0]
        assert (Path(hit.source).name, hit.page, hit.label()) == ("mixed.pdf", 2, "mixed.pdf, p. 2")
    with Citeqa(make_settings(tmp_path / "off", ocr=False), embedder=embedder) as qa:
        report = qa.ingest([folder])
        assert report.ocr_pages == 0 and report.count("added") == 1
        assert {d.pages for d in qa.documents()} == {2}


@needs_tesseract
def test_page_view_boxes_the_quote_on_a_scanned_page(tmp_path: Path) -> None:
    from citeqa.app.pages import render_page

    path = scanned(SAMPLE_PDF, [1, 2], tmp_path / "scan.pdf")
    text = load(path, max_bytes=CAP, ocr=Ocr()).pages[1].text
    start = text.index("47 metres")
    quote = text[max(0, start - 60) : start + 40]
    rendered = render_page(path, 2, [quote])
    assert rendered.highlighted and rendered.pages == 2
    assert not render_page(path, 2, ["words that are on no page of this document at all"]).highlighted


@pytest.mark.slow
@needs_tesseract
def test_scanned_paper_cited_by_page_through_the_cli(tmp_path: Path, monkeypatch, engine) -> None:
    pdfs = CORPUS / "pdfs"
    if not pdfs.is_dir():
        pytest.skip(f"../shared/corpus not found: {pdfs}")
    folder = tmp_path / "scans"
    folder.mkdir()
    scan = scanned(pdfs / "adam.pdf", [1, 2, 3], folder / "adam-scanned.pdf")
    monkeypatch.setenv("CITEQA_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.chdir(tmp_path)
    from citeqa.cli import cli

    run = CliRunner().invoke(cli, ["ingest", str(folder), "--json"], env={"CITEQA_WORKERS": "1"})
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["ocr_pages"] == 3
    found = CliRunner().invoke(cli, ["search", "Which settings are good defaults for the tested machine learning problems?", "-k", "1", "--json"])
    assert found.exit_code == 0, found.output
    top = json.loads(found.stdout)["hits"][0]
    assert (top["source"], top["page"]) == (str(scan), 2)

    # ask, with the bundled chat model: the answer's sources start at the scanned page 2
    assert engine.ingest([folder]).ocr_pages == 3
    answer = engine.ask("Which settings are good defaults for the tested machine learning problems?")
    assert (answer.sources[0].source, answer.sources[0].page) == (str(scan), 2)
    assert all(c.hit.source == str(scan) and c.hit.page for c in answer.citations)
