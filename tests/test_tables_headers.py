"""Table headers as papers print them (issue 23): grouped columns under one header, a header line
over a lower group of rows, header lines with numbers in them, captions beside another column's
text, abbreviations spelt out elsewhere in the paper, rows of one value. Real corpus PDFs, real
milvus-lite and the bundled embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.core.abbreviations import glossary
from citeqa.core.sentences import sentence_spans
from citeqa.core.tables import read_row, readings, row_start, table_name
from citeqa.engine import Citeqa
from citeqa.ingest.formats import pdf
from citeqa.ingest.formats.base import Options
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def resnet_tables(corpus: Path) -> dict[str, tuple[int, object]]:
    return {t.name: (p.page, t) for p in pdf.load(corpus / "pdfs" / "1512.03385.pdf", Options()).pages for t in p.tables}


@pytest.fixture(scope="module")
def fid_tables(corpus: Path) -> dict[str, tuple[int, object]]:
    return {t.name: (p.page, t) for p in pdf.load(corpus / "pdfs" / "2007.01282.pdf", Options()).pages for t in p.tables}


def test_a_header_line_over_a_lower_group_heads_its_columns(resnet_tables) -> None:
    # ResNet's Table 6: "method  error (%)" over Maxout, NIN and DSN, then "# layers  # params" over
    # the rows below; the upper labels' references ("Maxout [10]") reach under "# layers".
    page, t6 = resnet_tables["Table 6"]
    assert page == 7
    assert t6.headers == ("method", "# layers", "# params", "error (%)")
    rows = {(r[0], r[1]): r for r in t6.rows}
    assert rows[("ResNet", "56")] == ("ResNet", "56", "0.85M", "6.97")
    assert rows[("Maxout [10]", "")] == ("Maxout [10]", "", "", "9.38")
    assert not any(r[0].startswith("#") for r in t6.rows)


def test_header_lines_with_numbers_and_grouped_columns(resnet_tables) -> None:
    page, t7 = resnet_tables["Table 7"]  # "test data  VOC 07 test  VOC 12 test" is a header line
    assert page == 8 and t7.headers == ("training data test data", "07+12 VOC 07 test", "07++12 VOC 12 test")
    assert [r[0] for r in t7.rows] == ["VGG-16", "ResNet-101"]
    assert t7.caption.endswith("10 and 11 for better results.")  # beside the other column's lines
    page, t9 = resnet_tables["Table 9"]  # "COCO train" over "@.5  @[.5, .95]"
    assert page == 11 and t9.headers[1:3] == ("COCO train COCO val @.5", "COCO train COCO val @[.5, .95]")
    assert t9.headers[3] == "COCO trainval COCO test-dev @.5"
    page, t14 = resnet_tables["Table 14"]
    assert t14.headers == ("method", "top-5 localization err val", "top-5 localization err test")


def test_a_caption_parted_by_a_raised_mark_is_no_header(resnet_tables) -> None:
    # Table 4's caption runs on "validation set (except † reported on the test set).", the "†"
    # printed on a line of its own; Table 5 sits just below it.
    _, t4 = resnet_tables["Table 4"]
    assert t4.caption.endswith("(except † reported on the test set).")
    page, t5 = resnet_tables["Table 5"]
    assert page == 6 and t5.headers == ("method", "top-5 err. (test)")
    assert ("VGG [41] (ILSVRC’14)", "7.32") in t5.rows


def test_grouped_columns_of_fid(fid_tables) -> None:
    page, t1 = fid_tables["Table 1"]
    assert page == 3
    assert t1.headers == ("Model", "NQ EM", "TriviaQA EM", "TriviaQA EM", "SQuAD Open EM", "SQuAD Open F1")
    page, t2 = fid_tables["Table 2"]
    assert page == 5 and t2.headers[1:3] == ("NaturalQuestions w/o finetuning", "NaturalQuestions w/ finetuning")


def test_abbreviations_spelt_out_from_the_document() -> None:
    text = "We evaluate with the standard exact match metric (EM). Natural Questions and NaturalQuestions."
    assert glossary(("Model", "NQ EM", "TriviaQA EM"), text) == "EM: exact match; NQ: Natural Questions, NaturalQuestions"
    assert glossary(("method", "top-1 err."), text) == ""  # nothing abbreviated


def test_a_row_of_one_value_is_one_sentence(resnet_tables) -> None:
    _, t5 = resnet_tables["Table 5"]
    text = next(x for x in t5.passages() if x.endswith("7.32"))
    start = row_start(text)
    assert start is not None and text[start:] == "VGG [41] (ILSVRC’14): top-5 err. (test) 7.32"
    assert (start, len(text)) in sentence_spans(text)  # "err." ends no sentence
    assert row_start("Some prose.\n\nNote: a value of 3.") is None
    assert row_start("| a | b |\n\nNote: a value of 3.") is None  # a Markdown table in prose
    glossed = t5.passages("EM: exact match")[0]
    assert row_start(glossed) is not None and read_row(glossed).headers == ("method", "top-5 err. (test)")


@pytest.fixture(scope="module")
def papers(corpus: Path, tmp_path_factory, embedder, generator):
    qa = Citeqa(make_settings(tmp_path_factory.mktemp("tables")), embedder=embedder, generator=generator)
    assert not qa.ingest([corpus / "pdfs"]).failed  # the corpus as `citeqa eval` reads it
    yield qa
    qa.close()


def test_row_passage_carries_the_glossary_and_keeps_its_headers(papers: Citeqa) -> None:
    hit = next(h for h in papers.search("RAG Lewis NQ EM 44.5", top_k=10, mode="bm25") if table_name(h.location) == "Table 1")
    row = read_row(hit.text)
    assert row is not None and hit.page == 3
    assert row.headers == ("Model", "NQ EM", "TriviaQA EM", "TriviaQA EM", "SQuAD Open EM", "SQuAD Open F1")
    assert "NQ: NaturalQuestions" in hit.text and "EM: exact match" in hit.text
    assert row.row.startswith("RAG (Lewis et al., 2020): NQ EM 44.5 · TriviaQA EM 56.1")
    assert "RAG (Lewis et al., 2020): NaturalQuestions exact match 44.5" in readings(hit.text)


@pytest.mark.parametrize(
    ("question", "table", "page", "value"),
    [
        ("What EM does RAG reach on NaturalQuestions?", "Table 1", 3, "44.5"),  # "NQ" and "EM" spelt out
        ("How many parameters does the 56-layer ResNet for CIFAR-10 have?", "Table 6", 7, "# params 0.85M"),
        ("What top-5 error on the ImageNet test set did the VGG (ILSVRC'14) ensemble have?", "Table 5", 6, "7.32"),
        # batch normalization's Inception results (the paper captions that table "Figure 4")
        ("What top-5 error does the GoogLeNet ensemble have in the comparison with Batch-Normalized Inception?", "Figure 4", 8, "6.67%"),
        # a row labelled by a setting, on a page that never names the paper's method
        ("With 25 training passages and no finetuning, what exact match does Fusion-in-Decoder get on NaturalQuestions?", "Table 2", 5, "45.3"),
    ],
)
def test_table_questions_quote_the_row(papers: Citeqa, question: str, table: str, page: int, value: str) -> None:
    answer = papers.ask(question, generate="never")
    first = answer.evidence[0].to_dict()
    assert first["kind"] == "table_row" and first["table"] == table and first["page"] == page, first
    assert value in first["quote"]


def test_a_row_of_another_setting_is_not_the_answer(papers: Citeqa) -> None:
    # Table 2 gives FiD's score with 25 training passages; Table 1's row of FiD is another setting.
    answer = papers.ask("With 25 training passages and no finetuning, what exact match does Fusion-in-Decoder get on NaturalQuestions?", generate="never")
    assert not any(e.to_dict().get("table") == "Table 1" for e in answer.evidence)
