"""Ingest real documents, ask, and check the cited file and page."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.engine import Citeqa
from tests.conftest import SAMPLE_DOCS, make_settings

PAPER_QUESTIONS = [
    ("What are the default values of beta1 and beta2 in Adam?", "adam.pdf"),
    ("How many layers does the deepest residual network trained on ImageNet have?", "1512.03385.pdf"),
    ("What problem does batch normalization address, internal covariate shift?", "1502.03167.pdf"),
    ("How does Fusion-in-Decoder process the retrieved passages in the encoder?", "2007.01282.pdf"),
]


def test_ask_sample_docs_cites_right_page(engine):
    report = engine.ingest([SAMPLE_DOCS])
    assert not report.failed
    answer = engine.ask("What was the maximum depth of Aurora Lake?", generate="always")
    assert not answer.abstained
    # The evidence leads, quoted verbatim with its file and page; a generated part, if any, passed the check.
    assert answer.text.startswith("Quoted from your documents:\n[1] “The station recorded the lake's maximum depth as 47")
    assert "(aurora_lake_field_station_2023.pdf, p. 2)" in answer.text
    assert answer.sentences and all(s.supported == (s.text in answer.generated) for s in answer.sentences)
    top = answer.sources[0]
    assert Path(top.source).name == "aurora_lake_field_station_2023.pdf" and top.page == 2
    assert "47" in top.text
    assert {c.hit.chunk_id for c in answer.citations} <= {h.chunk_id for h in answer.sources}
    assert answer.timings.total_s >= answer.timings.retrieve_s > 0


def test_stream_yields_pieces_then_answer(engine):
    engine.ingest([SAMPLE_DOCS])
    stream = engine.ask_stream("How long is the Kestrel K2 warranty?", generate="always")
    pieces = list(stream)
    assert "The Kestrel K2 warranty lasts 3 years" in pieces[0]  # the evidence, before the model wrote
    assert stream.answer is not None and "".join(pieces) == stream.answer.text
    assert stream.answer.timings.first_token_s is not None  # the model was asked, after the evidence
    assert stream.answer.timings.first_token_s > stream.answer.timings.evidence_s


@pytest.fixture(scope="module")
def corpus_engine(corpus: Path, tmp_path_factory, embedder, generator):
    qa = Citeqa(make_settings(tmp_path_factory.mktemp("corpus-data")), embedder=embedder, generator=generator)
    try:
        report = qa.ingest([corpus / "pdfs"])
        assert not report.failed, report.failed
        yield qa
    finally:
        qa.close()


@pytest.mark.parametrize(("question", "paper"), PAPER_QUESTIONS)
def test_real_papers_first_source_is_the_right_paper(corpus_engine, question, paper):
    answer = corpus_engine.ask(question)
    assert Path(answer.sources[0].source).name == paper
    assert answer.sources[0].page is not None and answer.sources[0].page >= 1
    assert {c.hit.chunk_id for c in answer.citations} <= {h.chunk_id for h in answer.sources}


def test_reingest_of_real_pdfs_adds_nothing(corpus_engine, corpus: Path):
    before = corpus_engine.store.count_chunks()
    report = corpus_engine.ingest([corpus / "pdfs"])
    assert report.chunks_added == 0 and report.count("unchanged") == len(list((corpus / "pdfs").glob("*.pdf")))
    assert corpus_engine.store.count_chunks() == before
