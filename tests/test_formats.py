"""Word, PowerPoint, web pages and e-books: real files made by each format's own writer, read back
with the location a citation needs, found by search and cited there; and a broken file of each type."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.core.errors import DocumentError
from citeqa.core.sentences import split_sentences
from citeqa.ingest.loaders import load

CAP = 100 * 2**20
SECRET_SCRIPT = "zqxjtrackerpayload"  # only in the page's scripts: must never reach the text


def make_docx(path: Path) -> Path:
    import docx

    d = docx.Document()
    d.add_heading("Kestrel K2 handbook", 0)
    d.add_paragraph("This handbook covers the Kestrel K2 burr grinder.")
    d.add_heading("Setup", 1)
    d.add_heading("Warranty", 2)
    d.add_paragraph("The Kestrel K2 grinder carries a warranty of 36 months from the date of purchase.")
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([("Part", "Months", "Note"), ("Burrs", "12", "wear part"), ("Motor", "60", "sealed")]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    d.add_heading("Cleaning", 1)
    d.add_paragraph("Brush the burrs weekly and never wash them with water.")
    d.save(path)
    return path


def make_pptx(path: Path) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slides = [
        ("Quarterly review", "Ferry revenue grew 12 percent in the first quarter."),
        ("Timetable", "The last ferry to Gull Island now leaves the pier at 23:40."),
        ("Risks", "The diesel ferries are thirty years old."),
    ]
    for i, (title, body) in enumerate(slides):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        if i == 1:
            slide.notes_slide.notes_text_frame.text = "Mention the night-shift workers who asked for it."
            table = slide.shapes.add_table(2, 2, Inches(1), Inches(5), Inches(4), Inches(1)).table
            for (r, c), text in {(0, 0): "Route", (0, 1): "Last", (1, 0): "Pier to Gull Island", (1, 1): "23:40"}.items():
                table.cell(r, c).text = text
    deck.save(path)
    return path


NEWS_HTML = f"""<!DOCTYPE html><html><head><title>Harbour council approves new ferry timetable</title>
<script>var t = "{SECRET_SCRIPT}"; document.title = "{SECRET_SCRIPT}";</script><style>body{{color:red}}</style></head>
<body><div class="cookie-banner">We use cookies. Accept cookiesconsent or manage preferences.</div>
<header><nav><a href="/">Home</a> <a href="/sport">Sportsection</a> <a href="/weather">Weatherlink</a></nav></header>
<aside class="sidebar"><h3>Most read</h3><ul><li><a href="/a">Pelicanwatch festival returns</a></li></ul></aside>
<main><article><h1>Harbour council approves new ferry timetable</h1>
<p>The harbour council voted on Thursday to approve a new ferry timetable that adds an evening crossing to
Gull Island from June. The last ferry will now leave the pier at 23:40, two hours later than today.</p>
<h2>Costs</h2><p>The extra crossing will cost the council 180,000 euros a year, paid partly from a rise in parking
fees at the terminal. Councillor Joe Amadi said it answers years of complaints from night-shift workers.</p>
<table><tr><th>Route</th><th>First</th><th>Last</th></tr><tr><td>Pier to Gull Island</td><td>06:15</td><td>23:40</td></tr></table>
<h2>Opposition</h2><p>Two councillors voted against, arguing that the harbour's old diesel ferries should be
replaced before the service grows. A study of electric ferries is due in the autumn.</p>
<script>document.write("{SECRET_SCRIPT}")</script></article></main>
<footer>© 2024 Coastline Gazette. Privacypolicy Termsofuse</footer></body></html>"""


def make_epub(path: Path) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("harbour-tales-1")
    book.set_title("Harbour tales")
    book.set_language("en")
    storm = epub.EpubHtml(title="The Storm", file_name="storm.xhtml", lang="en")
    storm.content = (
        "<h1>The Storm</h1><p>The gale broke the old crane on pier two in the night, and the keeper rang "
        "the bell forty times to wake the harbour.</p>"
    )
    calm = epub.EpubHtml(title="Calm", file_name="calm.xhtml", lang="en")
    calm.content = "<p>In the calm that followed, the ferry sailed again at dawn with twelve passengers aboard.</p>"
    for item in (storm, calm):
        book.add_item(item)
    book.toc = (storm, calm)
    book.spine = ["nav", storm, calm]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    epub.write_epub(str(path), book)
    return path


MAKERS = {
    "handbook.docx": make_docx,
    "deck.pptx": make_pptx,
    "news.html": lambda p: (p.write_text(NEWS_HTML, encoding="utf-8"), p)[1],
    "tales.epub": make_epub,
}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, make in MAKERS.items():
        make(folder / name)
    return folder


def _pages(path: Path) -> list[tuple[str, str]]:
    doc = load(path, max_bytes=CAP)
    assert all(p.page is None for p in doc.pages)
    return [(p.location, p.text) for p in doc.pages]


def _tables(path: Path) -> dict[str, list[tuple[str, ...]]]:
    """The tables of a file by their row passages' location: headers, then rows (citeqa.core.tables)."""
    from citeqa.core.tables import located

    doc = load(path, max_bytes=CAP)
    return {located(p.location, t.name): [t.headers, *t.rows] for p in doc.pages for t in p.tables}


def _reason(path: Path) -> str:
    with pytest.raises(DocumentError) as info:
        load(path, max_bytes=CAP)
    assert info.value.path == str(path)
    return info.value.reason


# -- reading each format --------------------------------------------------------------------------


def test_docx_sections_by_heading_path_and_tables_as_rows(files: Path) -> None:
    pages = dict(_pages(files / "handbook.docx"))
    assert list(pages) == ["", "section 'Setup › Warranty'", "section 'Cleaning'"]
    warranty = pages["section 'Setup › Warranty'"]
    assert "warranty of 36 months" in warranty
    # The table is a table (tests/test_tables_formats.py): its rows are not in the section's text.
    assert "Burrs" not in warranty
    assert _tables(files / "handbook.docx") == {
        "section 'Setup › Warranty', table 1": [("Part", "Months", "Note"), ("Burrs", "12", "wear part"), ("Motor", "60", "sealed")]
    }
    assert pages[""].startswith("Kestrel K2 handbook")  # the title leads the text, not a section
    assert "never wash them with water" in pages["section 'Cleaning'"]


def test_pptx_one_location_per_slide_with_tables_and_notes(files: Path) -> None:
    pages = _pages(files / "deck.pptx")
    assert [loc for loc, _ in pages] == ["slide 1", "slide 2", "slide 3"]
    slide2 = pages[1][1]
    assert slide2.startswith("Timetable") and "leaves the pier at 23:40" in slide2
    assert "Pier to Gull Island" not in slide2
    assert _tables(files / "deck.pptx") == {"slide 2, table 1": [("Route", "Last"), ("Pier to Gull Island", "23:40")]}
    assert "Notes: Mention the night-shift workers" in slide2


def test_html_main_text_only_scripts_and_boilerplate_dropped(files: Path) -> None:
    pages = _pages(files / "news.html")
    text = "\n".join(t for _, t in pages)
    assert "The last ferry will now leave the pier at 23:40" in text
    assert "06:15" not in text
    assert _tables(files / "news.html") == {
        "section 'Costs', table 1": [("Route", "First", "Last"), ("Pier to Gull Island", "06:15", "23:40")]
    }
    for junk in (SECRET_SCRIPT, "cookiesconsent", "Sportsection", "Pelicanwatch", "Privacypolicy", "color:red"):
        assert junk not in text, junk
    assert [loc for loc, _ in pages] == ["", "section 'Costs'", "section 'Opposition'"]
    assert pages[0][1].startswith("Harbour council approves new ferry timetable")


def test_epub_chapters_in_order_located_by_heading_or_contents(files: Path) -> None:
    pages = _pages(files / "tales.epub")
    assert [loc for loc, _ in pages] == ["section 'The Storm'", "section 'Calm'"]
    assert "rang the bell forty times" in pages[0][1] and "twelve passengers" in pages[1][1]


def test_each_format_searched_and_cited_at_its_location(files: Path, engine) -> None:
    report = engine.ingest([files])
    assert report.count("added") == 4 and not report.failed
    cases = [
        ("How long is the warranty on the Kestrel K2 grinder?", "handbook.docx, section 'Setup › Warranty'"),
        ("When does the last ferry to Gull Island leave?", None),
        ("How much will the extra ferry crossing cost the council each year?", "news.html, section 'Costs'"),
        ("How many times did the keeper ring the bell during the storm?", "tales.epub, section 'The Storm'"),
    ]
    for question, label in cases:
        top = engine.search(question, top_k=3, sources=[f"{files}/*"])
        if label is None:  # on a slide and in the web page alike: the slide must be among them
            assert "deck.pptx, slide 2" in [h.label() for h in top], [h.label() for h in top]
            continue
        assert top[0].label() == label, [h.label() for h in top]
        assert top[0].page is None and top[0].to_dict()["location"] == label.split(", ", 1)[1]


def test_bullets_headings_and_table_rows_are_quoted_alone(files: Path, engine) -> None:
    """A slide's bullets and a document's headings seldom end in a full stop; they were quoted run
    together with the next block ("...214 electric vans in Q3 Average charging time fell...")."""
    from pptx import Presentation

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[1])
    slide.shapes.title.text = "Fleet status"
    body = slide.placeholders[1].text_frame
    body.text = "The fleet grew to 214 electric vans in Q3"
    body.add_paragraph().text = "Average charging time fell to 41 minutes"
    deck.save(files / "fleet.pptx")
    assert not engine.ingest([files]).failed

    cases = [
        ("How many electric vans does the fleet have?", "The fleet grew to 214 electric vans in Q3", "fleet.pptx, slide 1"),
        ("How long does charging take on average?", "Average charging time fell to 41 minutes", "fleet.pptx, slide 1"),
        (
            "How many months of warranty does the Kestrel K2 grinder carry?",
            "The Kestrel K2 grinder carries a warranty of 36 months from the date of purchase.",
            "handbook.docx, section 'Setup › Warranty'",
        ),
    ]
    for question, quote, label in cases:
        best = engine.ask(question, generate="never").evidence[0]
        assert (best.quote, best.hit.label()) == (quote, label)
    rows = engine.search("Burrs months", top_k=1, mode="bm25")[0]
    assert rows.text.rpartition("\n\n")[2] == "Burrs: Months 12 · Note wear part"  # one sentence, with its headers
    assert split_sentences(rows.text)[-1] == "Burrs: Months 12 · Note wear part"


# -- broken files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(MAKERS))
def test_truncated_file_of_each_type(files: Path, tmp_path: Path, name: str) -> None:
    data = (files / name).read_bytes()
    cut = tmp_path / f"cut-{name}"
    cut.write_bytes(data[: len(data) // 2])
    if name.endswith(".html"):  # half a web page is still a web page: what is there is read
        assert "evening crossing" in load(cut, max_bytes=CAP).pages[0].text
        return
    kind = {"docx": "Word", "pptx": "PowerPoint", "epub": "EPUB"}[name.rsplit(".", 1)[1]]
    assert _reason(cut).startswith(f"corrupt or truncated {kind} file (")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("photo.docx", "not a valid Word file (corrupt, or another format renamed .docx)"),
        ("photo.pptx", "not a valid PowerPoint file (corrupt, or another format renamed .pptx)"),
        ("photo.epub", "not a valid EPUB file (corrupt, or another format renamed .epub)"),
        ("photo.html", "binary content, not an HTML page"),
    ],
)
def test_renamed_binary_of_each_type(tmp_path: Path, name: str, reason: str) -> None:
    from PIL import Image

    Image.new("RGB", (64, 64), "red").save(tmp_path / name, format="PNG")
    assert _reason(tmp_path / name) == reason


@pytest.mark.parametrize("name", ["a.docx", "a.pptx", "a.html", "a.htm", "a.epub"])
def test_empty_file_of_each_type(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_bytes(b"")
    assert _reason(tmp_path / name) == "empty file"


def test_valid_files_without_text(tmp_path: Path) -> None:
    import docx
    from pptx import Presentation

    docx.Document().save(tmp_path / "blank.docx")
    deck = Presentation()
    deck.slides.add_slide(deck.slide_layouts[6])
    deck.save(tmp_path / "blank.pptx")
    (tmp_path / "blank.html").write_text("<html><head><script>var x = 1;</script></head><body> </body></html>")
    assert _reason(tmp_path / "blank.docx") == "no text in the document"
    assert _reason(tmp_path / "blank.pptx") == "no text on any slide"
    assert _reason(tmp_path / "blank.html") == "no text in the page"


@pytest.mark.parametrize(("name", "kind"), [("handbook.docx", "Word"), ("deck.pptx", "PowerPoint")])
def test_password_protected_office_files(files: Path, tmp_path: Path, name: str, kind: str) -> None:
    from msoffcrypto.format.ooxml import OOXMLFile

    locked = tmp_path / f"locked-{name}"
    with (files / name).open("rb") as src, locked.open("wb") as dst:
        OOXMLFile(src).encrypt("s3cret", dst)
    assert _reason(locked) == f"password-protected {kind} file"


def test_drm_epub(files: Path, tmp_path: Path) -> None:
    import zipfile

    drm = tmp_path / "drm.epub"
    with zipfile.ZipFile(files / "tales.epub") as src, zipfile.ZipFile(drm, "w") as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item))
        dst.writestr(
            "META-INF/encryption.xml",
            '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
            'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData><enc:CipherData>'
            '<enc:CipherReference URI="EPUB/storm.xhtml"/></enc:CipherData></enc:EncryptedData></encryption>',
        )
    assert _reason(drm) == "DRM-protected e-book (its chapters are encrypted)"


def test_a_bad_file_of_each_type_fails_alone(files: Path, tmp_path: Path, engine) -> None:
    from PIL import Image

    for name in MAKERS:
        Image.new("RGB", (8, 8)).save(files / f"broken-{name}", format="PNG")
    report = engine.ingest([files])
    assert report.count("added") == 4
    assert sorted(Path(f.path).name for f in report.failed) == sorted(f"broken-{n}" for n in MAKERS)
