"""Evidence-first answers through the engine: real embedder, milvus-lite, sample documents and papers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from citeqa.answer.conversation import is_followup, search_queries
from citeqa.answer.evidence import select, window
from citeqa.answer.prompt import NOT_IN_DOCS
from citeqa.core.events import Done, EvidenceReady
from citeqa.core.types import Hit
from citeqa.engine import Citeqa
from tests.conftest import SAMPLE_DOCS, make_settings

UNRELATED = [
    ("How long is the Kestrel K2 warranty?", "lasts 3 years"),
    ("What was the maximum depth of Aurora Lake?", "47 metres"),
    ("When is the Project Heron launch date?", "17 June 2024"),
    ("Who is the director of the Aurora Lake field station?", "Ingrid Valtonen"),
    ("How many grind settings does the Kestrel K2 have?", "60 marked positions"),
]


@pytest.fixture(scope="module")
def qa(tmp_path_factory, embedder):
    """An engine without a chat model: evidence answers only need the embedder."""
    engine = Citeqa(make_settings(tmp_path_factory.mktemp("evidence-data")), embedder=embedder)
    assert not engine.ingest([SAMPLE_DOCS]).failed
    yield engine
    engine.close()


def _key(answer) -> list[tuple[str, int, int]]:
    return [(e.hit.chunk_id, e.start, e.end) for e in answer.evidence]


@pytest.mark.parametrize(("question", "fact"), UNRELATED)
def test_evidence_is_verbatim_with_exact_offsets_and_no_model(qa: Citeqa, question: str, fact: str) -> None:
    a = qa.ask(question, generate="never")
    assert qa._generator is None  # never mode does not load the chat model
    assert a.answer_kind == "extractive" and not a.abstained and a.sentences == ()
    assert fact in a.text and any(fact in e.quote for e in a.evidence)  # a sentence that answers, quoted
    for e in a.evidence:
        assert e.hit.text[e.start : e.end] == e.quote and a.sources[e.n - 1] == e.hit
        assert f"[{e.n}] “{' '.join(e.quote.split())}” ({e.hit.label()})" in a.text
    assert a.timings.evidence_s >= a.timings.retrieve_s > 0 and a.timings.first_token_s is None


def test_default_mode_with_the_demo_model_loads_no_model(qa: Citeqa) -> None:
    assert qa.settings.uses_demo_model and qa.settings.generate == "auto"
    assert not qa.generates()
    a = qa.ask("How long is the Kestrel K2 warranty?")
    assert a.answer_kind == "extractive" and qa._generator is None


def test_stream_yields_the_evidence_first_and_pieces_make_the_text(qa: Citeqa) -> None:
    stream = qa.ask_stream("What was the maximum depth of Aurora Lake?", generate=False)
    events = list(stream.events())
    assert isinstance(events[0], EvidenceReady) and "47 metres" in events[0].text
    assert isinstance(events[-1], Done) and events[-1].answer is stream.answer
    again = qa.ask_stream("What was the maximum depth of Aurora Lake?", generate=False)
    assert "".join(again) == again.answer.text == stream.answer.text


def test_a_question_the_documents_do_not_answer_abstains(qa: Citeqa) -> None:
    for question in ("What is the capital of Australia?", "Who won the 1954 football world cup?"):
        a = qa.ask(question, generate="never")
        assert a.abstained and a.answer_kind == "abstained" and a.text == NOT_IN_DOCS
        assert a.evidence == () and a.citations == () and a.sources  # the closest passages, offered
        assert a.to_dict()["answer_kind"] == "abstained"


def test_unrelated_questions_in_one_conversation_get_the_same_evidence_as_alone(qa: Citeqa) -> None:
    history: list[tuple[str, str]] = []
    for question, fact in UNRELATED:
        alone = qa.ask(question, generate="never")
        in_chat = qa.ask(question, history=history, generate="never")
        assert _key(in_chat) == _key(alone) and in_chat.text == alone.text, question
        assert fact in in_chat.text and in_chat.standalone_question is None
        history += [("user", question), ("assistant", in_chat.text)]


def test_a_real_follow_up_still_resolves(qa: Citeqa) -> None:
    first = "What was the maximum depth of Aurora Lake?"
    a1 = qa.ask(first, generate="never")
    history = [("user", first), ("assistant", a1.text)]
    alone = qa.ask("and when was that measured?", generate="never")
    follow = qa.ask("and when was that measured?", history=history, generate="never")
    assert follow.standalone_question == f"{first} and when was that measured?"
    assert not follow.abstained and "2023" in follow.text
    assert any(Path(e.hit.source).name == "aurora_lake_field_station_2023.pdf" and e.hit.page == 2 for e in follow.evidence)
    assert alone.abstained or "2023" not in " ".join(e.quote for e in alone.evidence[:1])


@pytest.mark.parametrize(
    ("question", "followup"),
    [
        ("and when was that measured?", True),
        ("What about its cost?", True),
        ("When was it?", True),
        ("What was the maximum depth of Aurora Lake?", False),
        ("What does RAG stand for in retrieval-augmented generation?", False),
        ("How does Adam compute its update from the gradient moments?", False),
    ],
)
def test_only_questions_that_cannot_stand_alone_are_follow_ups(question: str, followup: bool) -> None:
    assert is_followup(question) is followup
    history = [("user", "What was the maximum depth of Aurora Lake?"), ("assistant", "47 metres [1].")]
    assert (len(search_queries(question, history)) == 2) is followup
    assert search_queries(question, history)[-1] == question  # the user's own words are always searched


def test_select_prefers_the_sentence_with_the_question_words() -> None:
    hit = Hit("c", "/d/a.txt", None, "The lake is cold. Its maximum depth is 47 metres. Fish live there.", 1.0)
    spans = [(0, 17), (18, 49), (50, 66)]
    vectors = np.eye(3, dtype=np.float32)
    q = np.array([0.5, 0.5, 0.5], dtype=np.float32)  # equally close to all three
    (best, *_) = select("What is the maximum depth of the lake?", q, [hit], {"c": (spans, vectors)})
    assert best.quote == "Its maximum depth is 47 metres." and hit.text[best.start : best.end] == best.quote
    assert window(best) == (0, len(hit.text))  # with one sentence on each side


@pytest.mark.slow
def test_capital_of_australia_over_the_papers_abstains(corpus: Path, tmp_path, embedder, generator) -> None:
    with Citeqa(make_settings(tmp_path / "data"), embedder=embedder, generator=generator) as engine:
        assert not engine.ingest([corpus / "pdfs"]).failed
        for mode in ("never", "always"):
            a = engine.ask("What is the capital of Australia?", generate=mode)
            assert a.abstained and a.text == NOT_IN_DOCS and "Canberra" not in a.text, mode
