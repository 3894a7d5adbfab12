"""Tables as evidence (issue 23) in Word, HTML and slides: files generated here (python-docx,
python-pptx, an HTML string) with prose around a table, ingested by the engine into milvus-lite;
a row is found by its label and header, quoted alone with its headers, and cited at its place.
The PDF tables are tested in tests/test_tables.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.core.sentences import sentence_spans
from citeqa.core.tables import read_row, table_name

PROSE = [
    "The depot review was carried out in the spring by the fleet office.",
    "Every depot sent its own figures, checked by the regional managers before they were added up.",
    "The review also looked at how drivers rate the new charging points and the break rooms.",
]
AFTER = "Drivers at every depot asked for more charging points near the loading bays."
ROWS = [("Leeds", "41", "12", "0.31"), ("Bristol", "27", "30", "0.44"), ("Glasgow", "18", "35", "0.52")]


def make_docx(path: Path) -> Path:
    """A table under a caption paragraph, with a two-row header ("Vans" over "electric", "diesel")."""
    import docx

    d = docx.Document()
    d.add_heading("Depot review", 1)
    for text in PROSE:
        d.add_paragraph(text)
    d.add_paragraph("Table 2: Vans and running costs per depot")
    table = d.add_table(rows=2 + len(ROWS), cols=4)
    table.cell(0, 1).merge(table.cell(0, 2)).text = "Vans"
    for c, text in enumerate(["Depot", None, None, "Cost"]):
        if text:
            table.cell(0, c).text = text
    for c, text in enumerate(["", "electric", "diesel", "per km"]):
        if text:
            table.cell(1, c).text = text
    for r, row in enumerate(ROWS, start=2):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    d.add_paragraph(AFTER)
    d.add_heading("Next steps", 1)
    d.add_paragraph("The board will decide on new depots in the autumn.")
    d.save(path)
    return path


def make_html(path: Path) -> Path:
    cells = "".join(f"<tr><td>{'</td><td>'.join(r)}</td></tr>" for r in ROWS)
    path.write_text(
        f"""<!DOCTYPE html><html><head><title>Depot review</title></head><body><main><article>
<h1>Depot review</h1><p>{" ".join(PROSE)}</p>
<h2>Vans and costs</h2><p>{PROSE[1]} {PROSE[0]}</p>
<table><caption>Table 2: Vans and running costs per depot</caption>
<thead><tr><th rowspan="2">Depot</th><th colspan="2">Vans</th><th>Cost</th></tr>
<tr><th>electric</th><th>diesel</th><th>per km</th></tr></thead><tbody>{cells}</tbody></table>
<p>{AFTER}</p><h2>Next steps</h2><p>The board will decide on new depots in the autumn, after the review.</p>
</article></main></body></html>""",
        encoding="utf-8",
    )
    return path


def make_pptx(path: Path) -> Path:
    """A slide titled by what its table shows, the table's first row its headers."""
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])
    first.shapes.title.text = "Depot review"
    first.placeholders[1].text = "\n".join(PROSE)
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Vans and running costs per depot"
    table = slide.shapes.add_table(1 + len(ROWS), 4, Inches(1), Inches(2), Inches(8), Inches(2)).table
    for r, row in enumerate([("Depot", "electric vans", "diesel vans", "cost per km"), *ROWS]):
        for c, text in enumerate(row):
            table.cell(r, c).text = text
    note = slide.shapes.add_textbox(Inches(1), Inches(5), Inches(8), Inches(1)).text_frame
    note.text = AFTER
    deck.save(path)
    return path


# (file maker, file name, place of the table, its name, the Bristol row's line, its headers)
CASES = {
    "docx": (
        make_docx,
        "depots.docx",
        "section 'Depot review'",
        "Table 2",
        "Bristol: Vans electric 27 · Vans diesel 30 · Cost per km 0.44",
        ["Depot", "Vans electric", "Vans diesel", "Cost per km"],
    ),
    "html": (
        make_html,
        "depots.html",
        "section 'Vans and costs'",
        "Table 2",
        "Bristol: Vans electric 27 · Vans diesel 30 · Cost per km 0.44",
        ["Depot", "Vans electric", "Vans diesel", "Cost per km"],
    ),
    "pptx": (
        make_pptx,
        "depots.pptx",
        "slide 2",
        "table 1",
        "Bristol: electric vans 27 · diesel vans 30 · cost per km 0.44",
        ["Depot", "electric vans", "diesel vans", "cost per km"],
    ),
}


@pytest.mark.parametrize("kind", list(CASES))
def test_table_rows_are_passages_found_quoted_and_cited(kind: str, engine, tmp_path: Path) -> None:
    make, name, place, table, bristol, headers = CASES[kind]
    path = make(tmp_path / name)
    assert not engine.ingest([path]).failed
    location = f"{place}, {table}"

    # Keyword and dense search alike find the row by its label and a header.
    for mode in ("bm25", "dense", "hybrid"):
        top = engine.search("Bristol diesel vans", top_k=3, mode=mode)
        assert top[0].location == location, (mode, [(h.location, h.text[-60:]) for h in top])
        row = read_row(top[0].text)
        assert row is not None and row.row == bristol, top[0].text
        assert list(row.headers) == headers

    # Every row is one passage, whole: the table is never split across chunks, nor a row.
    hits = [h for h in engine.search("Leeds Bristol Glasgow depot vans cost", top_k=20, mode="bm25") if table_name(h.location)]
    assert sorted(read_row(h.text).label for h in hits) == ["Bristol", "Glasgow", "Leeds"]

    # The answer quotes the row with its headers, at its place, as a table row.
    answer = engine.ask("How many diesel vans does the Bristol depot have?", generate="never")
    best = answer.evidence[0]
    assert best.quote == bristol, [(e.quote, e.hit.location) for e in answer.evidence]
    assert best.hit.label() == f"{name}, {location}"
    d = best.to_dict()
    assert d["kind"] == "table_row" and d["table"] == table and d["headers"] == headers
    assert d["location"] == location


@pytest.mark.parametrize("kind", list(CASES))
def test_prose_around_a_table_holds_no_cells(kind: str, tmp_path: Path) -> None:
    from citeqa.ingest.formats import loader_for
    from citeqa.ingest.formats.base import Options

    make, name, place, table, _, _ = CASES[kind]
    path = make(tmp_path / name)
    pages = loader_for(path)(path, Options()).pages
    text = "\n\n".join(p.text for p in pages)
    sentences = [" ".join(text[s:e].split()) for s, e in sentence_spans(text)]
    assert AFTER in sentences and PROSE[0] in " ".join(sentences)  # the prose stays prose
    assert not any(cell in s.split() for s in sentences for cell in ("27", "30", "0.44", "Glasgow"))
    [found] = [t for p in pages for t in p.tables]
    assert found.name == table and [p.location for p in pages if p.tables] == [place]
    assert [r[0] for r in found.rows] == ["Leeds", "Bristol", "Glasgow"]
