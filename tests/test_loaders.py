"""ingest.loaders on real files: the sample docs, real arXiv PDFs, and broken files built from them."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from citeqa.core.errors import DocumentError
from citeqa.core.files import content_hash
from citeqa.ingest.formats.hyphens import dehyphenate
from citeqa.ingest.loaders import SUPPORTED_SUFFIXES, clean_text, load
from tests.conftest import unprivileged

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = REPO / "sample_docs"
PDFS = REPO.parent / "shared" / "corpus" / "pdfs"
CAP = 100 * 2**20

# (file, phrase, page): each phrase is on exactly that page, as pypdf itself reads the file.
KNOWN_PAGES = [
    ("1512.03385.pdf", "Residual learning: a building block", 2),
    ("adam.pdf", "Algorithm 1: Adam, our proposed algorithm for stochastic optimization", 2),
    ("adam.pdf", "Figure 2: Training of multilayer neural networks on MNIST images", 7),
    ("1502.03167.pdf", "Batch Normalizing Transform, applied to activation x over a mini-batch", 3),
]


def _norm(text: str) -> str:
    return " ".join(text.split())


def _reason(path: Path, **kw) -> str:
    with pytest.raises(DocumentError) as info:
        load(path, max_bytes=kw.get("max_bytes", CAP))
    assert info.value.path == str(path)
    return info.value.reason


@pytest.fixture(scope="module")
def pdfs() -> Path:
    if not PDFS.is_dir():
        pytest.skip(f"../shared/corpus not found: {PDFS}")
    return PDFS


@pytest.fixture(scope="module")
def corpus_docs(pdfs: Path) -> dict:
    return {p.name: load(p, max_bytes=CAP) for p in sorted(pdfs.glob("*.pdf"))}


@pytest.fixture
def sample_pdf() -> Path:
    return SAMPLE_DOCS / "aurora_lake_field_station_2023.pdf"


def _example_questions() -> list:
    spec = importlib.util.spec_from_file_location(
        "make_sample_docs", REPO / "scripts" / "make_sample_docs.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.EXAMPLE_QUESTIONS


def _pdf_with_pages(path: Path, texts: list[str | None]) -> Path:
    """One page per entry; None leaves the page blank (no text layer at all)."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for text in texts:
        if text:
            c.drawString(72, 720, text)
        c.showPage()
    c.save()
    return path


# -- good files --------------------------------------------------------------------


def test_sample_docs_answers_are_on_the_stated_pages() -> None:
    checked = 0
    for _question, answer, name, page in _example_questions():
        if name is None:
            continue
        doc = load(SAMPLE_DOCS / name, max_bytes=CAP)
        by_page = {p.page: _norm(p.text) for p in doc.pages}
        assert answer in by_page[page], (name, page, answer)
        assert [p for p, t in by_page.items() if answer in t] == [page]
        checked += 1
    assert checked >= 5


def test_sample_pdf_pages_numbered_from_one(sample_pdf: Path) -> None:
    doc = load(sample_pdf, max_bytes=CAP)
    assert [p.page for p in doc.pages] == [1, 2, 3]
    assert doc.path == str(sample_pdf)
    assert doc.warnings == ()


@pytest.mark.parametrize("name", ["kestrel_k2_handbook.md", "heron_steering_meeting_2024-03-14.txt"])
def test_text_files_are_one_page_without_number(name: str) -> None:
    path = SAMPLE_DOCS / name
    doc = load(path, max_bytes=CAP)
    assert len(doc.pages) == 1 and doc.pages[0].page is None
    assert doc.pages[0].text == path.read_text(encoding="utf-8").strip()


def test_content_hash_is_sha256_of_bytes(sample_pdf: Path) -> None:
    expected = hashlib.sha256(sample_pdf.read_bytes()).hexdigest()
    assert content_hash(sample_pdf) == expected
    assert load(sample_pdf, max_bytes=CAP).content_hash == expected


def test_supported_suffixes() -> None:
    assert {".pdf", ".txt", ".md", ".markdown", ".docx", ".pptx", ".html", ".htm", ".epub"} == SUPPORTED_SUFFIXES


def test_corpus_pdfs_load_every_page(pdfs: Path, corpus_docs: dict) -> None:
    assert len(corpus_docs) >= 6
    for name, doc in corpus_docs.items():
        path = pdfs / name
        assert doc.path == str(path) and doc.warnings == ()
        n = len(pypdf.PdfReader(path).pages)
        # Every page of these papers has text, so none may be lost or renumbered.
        assert [p.page for p in doc.pages] == list(range(1, n + 1)), path.name
        for page in doc.pages:
            assert page.text == page.text.strip() and "\n\n\n" not in page.text


@pytest.mark.parametrize(("name", "phrase", "page"), KNOWN_PAGES)
def test_known_phrase_on_expected_page(
    pdfs: Path, corpus_docs: dict, name: str, phrase: str, page: int
) -> None:
    raw = [_norm(p.extract_text()) for p in pypdf.PdfReader(pdfs / name).pages]
    assert [i for i, t in enumerate(raw, 1) if phrase in t] == [page], "the fixture's page is wrong"
    doc = corpus_docs[name]
    assert [p.page for p in doc.pages if phrase in _norm(p.text)] == [page]


def test_real_pdf_text_is_cleaned(pdfs: Path, corpus_docs: dict) -> None:
    # StarCoder 2's PDF yields NUL where its font maps the "ff" ligature; ResNet's uses \x01 and
    # private-use bracket glyphs, and "ﬁ" ligatures throughout.
    raw = "".join(p.extract_text() for p in pypdf.PdfReader(pdfs / "starcoder2paper.pdf").pages)
    assert "\x00" in raw, "fixture no longer exercises NUL cleaning"
    for name in ("starcoder2paper.pdf", "1512.03385.pdf"):
        text = "".join(p.text for p in corpus_docs[name].pages)
        assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in text)
        assert not any("\ue000" <= ch <= "\uf8ff" or "\ufb00" <= ch <= "\ufb06" for ch in text)
    resnet = corpus_docs["1512.03385.pdf"]
    assert "Deeper neural networks are more difficult to train" in _norm(resnet.pages[0].text)


def test_clean_text() -> None:
    assert clean_text("a\r\nb\rc") == "a\nb\nc"
    assert clean_text("a\x00b\x07c\x1bd\x7fe\x85f\tg") == "abcdef\tg"
    assert clean_text("p1  \n\n\n\n \n\np2") == "p1\n\np2"
    assert clean_text("page1\fpage2") == "page1\npage2"
    assert clean_text("  \n e\ufb03cient \ufb01rst  \n") == "efficient first"



def test_line_end_hyphenation_is_undone_by_the_documents_own_words() -> None:
    pages = [
        "Our re-\nsults hold for every mini-\nbatch.\nThe results of each mini-batch are in Table 1.",
        "A batch-\nnormalized network; end-to-\nend; state-of-the-\nart; top-\n5 error; un-\nseen inputs.",
    ]
    one, two = dehyphenate(pages)
    assert one.startswith("Our results hold for every mini-batch.")  # "results" and "mini-batch" occur elsewhere
    assert "A batchnormalized network" in two  # nothing elsewhere says otherwise: hyphenation, the usual case
    assert "end-to-end" in two and "state-of-the-art" in two  # a compound continues as one
    assert "top-5 error" in two  # digits keep the hyphen
    assert "unseen inputs" in two
    assert dehyphenate(["no hyphen\nhere"]) == ["no hyphen\nhere"]


def test_real_pdf_hyphenation_is_undone(pdfs: Path, corpus_docs: dict) -> None:
    raw = pypdf.PdfReader(pdfs / "1502.03167.pdf").pages[0].extract_text()
    assert "ac-\ncuracy" in raw and "batch-\nnormalized" in raw, "fixture no longer exercises hyphenation"
    page = corpus_docs["1502.03167.pdf"].pages[0].text
    assert "-\n" not in page
    assert "exceeding the accuracy of human raters" in _norm(page)
    assert "an ensemble of batch-normalized networks" in _norm(page)  # the paper's own compound, kept

# -- bad files ---------------------------------------------------------------------


def test_over_size_cap_names_size_and_setting(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(int(123.4 * 2**20))  # sparse: no disk used, and never read
    assert _reason(big) == "file is 123.4 MB, over the 100 MB cap (CITEQA_MAX_FILE_MB)"
    small = tmp_path / "small.txt"
    small.write_text("x" * 2000)
    assert _reason(small, max_bytes=1000) == "file is 2 KB, over the 1000 bytes cap (CITEQA_MAX_FILE_MB)"


@pytest.mark.parametrize(
    ("name", "data"), [("a.txt", b""), ("b.md", b"  \n\t\r\n "), ("c.pdf", b""), ("d.pdf", b"\n \n")]
)
def test_empty_file(tmp_path: Path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert _reason(path) == "empty file"


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.02])
def test_truncated_pdf(pdfs: Path, tmp_path: Path, keep: float) -> None:
    data = (pdfs / "1512.03385.pdf").read_bytes()
    path = tmp_path / "cut.pdf"
    path.write_bytes(data[: int(len(data) * keep)])
    assert _reason(path).startswith("corrupt or truncated PDF (")


def test_garbage_named_pdf(tmp_path: Path) -> None:
    path = tmp_path / "notes.pdf"
    path.write_text("this is not a PDF at all\n" * 10)
    reason = _reason(path)
    assert reason.startswith("corrupt or truncated PDF (") and len(reason) < 200


def _encrypt(src: Path, dst: Path, user: str, owner: str) -> Path:
    writer = pypdf.PdfWriter(clone_from=src)
    # RC4 needs no crypto library; AES would need pypdf's "crypto" extra (see test below).
    writer.encrypt(user_password=user, owner_password=owner, algorithm="RC4-128")
    writer.write(dst)
    return dst


def test_encrypted_pdf_needs_password(sample_pdf: Path, tmp_path: Path) -> None:
    path = _encrypt(sample_pdf, tmp_path / "locked.pdf", user="s3cret", owner="owner")
    assert pypdf.PdfReader(path).is_encrypted
    assert _reason(path) == "encrypted PDF (password required)"


def test_encrypted_pdf_with_empty_password_is_read(sample_pdf: Path, tmp_path: Path) -> None:
    path = _encrypt(sample_pdf, tmp_path / "restricted.pdf", user="", owner="owner")
    doc = load(path, max_bytes=CAP)
    assert [p.page for p in doc.pages] == [1, 2, 3]
    assert "47 metres" in _norm(doc.pages[1].text)


def test_aes_without_crypto_library_says_so(sample_pdf: Path, tmp_path: Path, monkeypatch) -> None:
    # Building an AES file needs the library whose absence this checks, so simulate what pypdf raises.
    from pypdf.errors import DependencyError

    def fail(self, *a, **kw):
        raise DependencyError("cryptography>=3.1 is required for AES algorithm")

    monkeypatch.setattr(pypdf.PageObject, "extract_text", fail)
    assert _reason(sample_pdf).startswith("encrypted PDF (cannot decrypt: cryptography")


def test_pdf_without_text_layer(tmp_path: Path) -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(612, 792)
    writer.add_blank_page(612, 792)
    writer.write(tmp_path / "blank.pdf")
    assert _reason(tmp_path / "blank.pdf") == "no extractable text; scanned?"


def test_image_only_pdf(tmp_path: Path) -> None:
    from PIL import Image
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.new("RGB", (200, 80), "white")
    for x in range(20, 180):  # a dark bar standing in for scanned ink
        for y in range(30, 50):
            image.putpixel((x, y), (0, 0, 0))
    c = canvas.Canvas(str(tmp_path / "scan.pdf"))
    c.drawImage(ImageReader(image), 72, 600, width=200, height=80)
    c.showPage()
    c.save()
    assert _reason(tmp_path / "scan.pdf") == "no extractable text; scanned?"


def test_blank_pages_dropped_but_numbers_kept(tmp_path: Path) -> None:
    path = _pdf_with_pages(tmp_path / "gaps.pdf", ["first page", None, "third page", None])
    doc = load(path, max_bytes=CAP)
    assert [(p.page, p.text) for p in doc.pages] == [(1, "first page"), (3, "third page")]


def test_one_bad_page_is_a_warning(tmp_path: Path, monkeypatch) -> None:
    path = _pdf_with_pages(tmp_path / "three.pdf", ["one", "two", "three"])
    real = pypdf.PageObject.extract_text

    def flaky(self, *a, **kw):
        if "two" in real(self, *a, **kw):
            raise ValueError("bad content stream")
        return real(self, *a, **kw)

    monkeypatch.setattr(pypdf.PageObject, "extract_text", flaky)
    doc = load(path, max_bytes=CAP)
    assert [p.page for p in doc.pages] == [1, 3]
    assert doc.warnings == ("page 2: text extraction failed (bad content stream)",)


def _run_unprivileged(code: str) -> str:
    """Run `code` in a child Python. As root, without the capabilities that let root read any
    file whatever its mode (util-linux setpriv), so a mode-000 file is really unreadable."""
    cmd = [*unprivileged(), sys.executable, "-c", code]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_permission_denied(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("top secret")
    path.chmod(0o000)
    code = (
        "from pathlib import Path\n"
        "from citeqa.core.errors import DocumentError\n"
        "from ingest.loaders import load\n"
        "try:\n"
        f"    load(Path({str(path)!r}), max_bytes=10**6)\n"
        "except DocumentError as e:\n"
        "    print(e.reason)\n"
    )
    assert _run_unprivileged(code) == "permission denied"


def test_pypdf_noise_is_silenced(pdfs: Path, tmp_path: Path) -> None:
    # In a child process: under pytest, log records go to pytest's handlers, never to stderr.
    data = (pdfs / "1512.03385.pdf").read_bytes()
    (tmp_path / "cut.pdf").write_bytes(data[: len(data) // 2])
    code = (
        "from pathlib import Path\n"
        "from citeqa.core.errors import DocumentError\n"
        "from ingest.loaders import load\n"
        "for name in ('cut.pdf', 'starcoder2.pdf', 'wizardmath.pdf'):\n"
        "    try:\n"
        f"        load(Path({str(tmp_path)!r}) / name, max_bytes=10**9)\n"
        "    except DocumentError:\n"
        "        pass\n"
    )
    shutil.copy(pdfs / "starcoder2paper.pdf", tmp_path / "starcoder2.pdf")
    shutil.copy(pdfs / "wizardmath_paper.pdf", tmp_path / "wizardmath.pdf")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
