"""Issue 22, inputs that unpack or render past a limit: zip bombs in Word, PowerPoint and EPUB
files are refused from the zip's directory before a member is read, and PDF pages too large to
render are refused before pdfium allocates them, each with a message naming its setting."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from citeqa.core.errors import DocumentError, DocumentTooLarge
from citeqa.ingest.formats.base import ReadLimits
from citeqa.ingest.loaders import load
from tests.test_formats import MAKERS, make_docx

CAP = 10**9
_MB = 2**20


def _with_member(src: Path, dst: Path, name: str, zeros_mb: int = 0, extra: int = 0) -> Path:
    """A copy of the zip `src` whose member `name` is `zeros_mb` MB of zeros (streamed: the test
    never holds them), plus `extra` tiny members."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename != name:
                new.writestr(info, old.read(info.filename))
        with new.open(name, "w") as out:
            block = bytes(_MB)
            for _ in range(zeros_mb):
                out.write(block)
        for i in range(extra):
            new.writestr(f"extra/{i}.xml", "<x/>")
    return dst


def _docx_bomb(folder: Path, zeros_mb: int = 400) -> Path:
    """A .docx whose picture, referenced from the text, unpacks to `zeros_mb` MB of zeros:
    python-docx reads every part the document's relationships name into memory."""
    import docx
    from PIL import Image

    png = folder / "dot.png"
    Image.new("RGB", (4, 4)).save(png)
    d = docx.Document()
    d.add_paragraph("The Osprey O3 carries a warranty of 24 months.")
    d.add_picture(str(png))
    plain = folder / "plain.docx.tmp"
    d.save(plain)
    with zipfile.ZipFile(plain) as z:
        media = next(n for n in z.namelist() if n.startswith("word/media/"))
    bomb = _with_member(plain, folder / "bomb.docx", media, zeros_mb)
    plain.unlink()
    png.unlink()
    return bomb


_CHILD = """
import json, resource, sys
from pathlib import Path
from citeqa.core.errors import DocumentError
from citeqa.ingest.loaders import load
import docx  # what the reader imports, so that the growth measured is the file's alone
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    load(Path(sys.argv[1]), max_bytes=10**9)
    outcome = "read"
except DocumentError as exc:
    outcome = str(exc)
grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"outcome": outcome, "grew_mb": grew / 1024}))
"""


def test_a_docx_zip_bomb_is_refused_before_it_is_read(tmp_path: Path) -> None:
    """The case of the issue: a 400 KB .docx holding a 400 MB zero-filled image (before: read,
    and the server's memory grew by 418 MB). Measured in a child process's peak RSS."""
    bomb = _docx_bomb(tmp_path)
    assert bomb.stat().st_size < 1_000_000
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(bomb)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert str(bomb) in result["outcome"] and "CITEQA_MAX_UNZIPPED_MB" in result["outcome"], result
    assert result["grew_mb"] <= 50, result


@pytest.mark.parametrize("name", sorted(n for n in MAKERS if n.endswith((".docx", ".pptx", ".epub"))))
def test_each_zip_format_checks_size_ratio_and_members(tmp_path: Path, name: str) -> None:
    make = MAKERS[name]
    plain = make(tmp_path / name)
    load(plain, max_bytes=CAP)  # as made, it reads

    # 5 MB of zeros stored in about 5 KB: over the ratio, though small in all.
    bomb = _with_member(plain, tmp_path / f"ratio-{name}", "zeros.bin", zeros_mb=5)
    with pytest.raises(DocumentTooLarge, match="CITEQA_MAX_ZIP_RATIO") as ratio:
        load(bomb, max_bytes=CAP)
    assert ratio.value.setting == "CITEQA_MAX_ZIP_RATIO" and ratio.value.path == str(bomb)
    load(bomb, max_bytes=CAP, limits=ReadLimits(zip_ratio=10_000))  # the limit is the setting's

    with pytest.raises(DocumentTooLarge, match=r"over the 4 MB limit \(CITEQA_MAX_UNZIPPED_MB\)"):
        load(bomb, max_bytes=CAP, limits=ReadLimits(unzipped_mb=4, zip_ratio=10_000))

    many = _with_member(plain, tmp_path / f"many-{name}", "last.xml", extra=60)
    with pytest.raises(DocumentTooLarge, match="CITEQA_MAX_ZIP_ENTRIES"):
        load(many, max_bytes=CAP, limits=ReadLimits(zip_entries=50))
    load(many, max_bytes=CAP)


def test_the_limits_are_settings_and_a_bomb_fails_alone(tmp_path: Path, engine) -> None:
    """Through the engine, with the limits of its settings: the bomb is one failed file with its
    reason, and the other files of the folder are added."""
    folder = tmp_path / "docs"
    folder.mkdir()
    make_docx(folder / "handbook.docx")
    _docx_bomb(folder, zeros_mb=300)
    report = engine.ingest([folder])
    assert report.count("added") == 1
    (failed,) = report.failed
    assert Path(failed.path).name == "bomb.docx"
    assert "CITEQA_MAX_UNZIPPED_MB" in (failed.error or ""), failed


def test_a_cut_zip_is_still_a_corrupt_file(tmp_path: Path) -> None:
    """The directory's end record read for the member count must not turn a truncated file's
    reason into something else."""
    plain = make_docx(tmp_path / "a.docx")
    cut = tmp_path / "cut.docx"
    cut.write_bytes(plain.read_bytes()[:-30])
    with pytest.raises(DocumentError, match="corrupt or truncated Word file"):
        load(cut, max_bytes=CAP)


def _poster_pdf(path: Path, side_pt: float = 40_000, text_page: bool = False) -> Path:
    """A PDF whose (last) page is `side_pt` points square and carries only an image, so it is
    taken for a scan; with `text_page`, an ordinary page of text comes first."""
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(612, 792))
    if text_page:
        c.drawString(72, 700, "The Osprey O3 carries a warranty of 24 months from the date of purchase.")
        c.showPage()
    c.setPageSize((side_pt, side_pt))
    c.drawImage(ImageReader(Image.new("RGB", (8, 8), "white")), 0, 0, 100, 100)
    c.showPage()
    c.save()
    return path


def test_a_huge_scanned_page_is_not_rendered_for_ocr(tmp_path: Path) -> None:
    """40,000 points square: 111,111 pixels a side at OCR's 200 dpi. Refused from its size, in
    well under a second, with the setting named; a file with text elsewhere keeps that text."""
    import time

    from citeqa.ingest.ocr import Ocr

    ocr = Ocr("eng")
    if ocr.problem():
        pytest.skip(ocr.problem())
    poster = _poster_pdf(tmp_path / "poster.pdf")
    t0 = time.perf_counter()
    with pytest.raises(DocumentTooLarge, match=r"CITEQA_MAX_PAGE_PIXELS") as refused:
        load(poster, max_bytes=CAP, ocr=ocr)
    assert time.perf_counter() - t0 < 2.0
    assert refused.value.setting == "CITEQA_MAX_PAGE_PIXELS" and "page 1 is 40,000 × 40,000 points" in str(
        refused.value
    )

    mixed = load(_poster_pdf(tmp_path / "mixed.pdf", text_page=True), max_bytes=CAP, ocr=ocr)
    assert [p.page for p in mixed.pages] == [1]
    assert any("page 2: not read by OCR" in w and "CITEQA_MAX_PAGE_PIXELS" in w for w in mixed.warnings), (
        mixed.warnings
    )


def test_the_page_view_refuses_a_page_over_the_pixel_limit(tmp_path: Path) -> None:
    """The web app's page view renders a wide page at half a pixel per point at least: 20,000
    pixels a side (1.6 GB as RGBA) for the poster. Refused; an ordinary page still renders, and
    the limit is the caller's (the app passes CITEQA_MAX_PAGE_PIXELS)."""
    from citeqa.app.pages import render_page
    from citeqa.core.errors import TooLarge

    pdf = _poster_pdf(tmp_path / "mixed.pdf", text_page=True)
    with pytest.raises(
        TooLarge, match=r"page 2 .* over the limit of 50,000,000 pixels \(CITEQA_MAX_PAGE_PIXELS\)"
    ):
        render_page(pdf, 2)
    assert render_page(pdf, 1, ["warranty of 24 months"]).highlighted
    with pytest.raises(TooLarge, match="CITEQA_MAX_PAGE_PIXELS"):
        render_page(pdf, 1, max_pixels=1000)
