"""Evidence-first answers through the engine: real embedder, milvus-lite, sample documents and papers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from citeqa.answer.conversation import is_followup, search_queries
from citeqa.answer.evidence import (
    DEFAULT_SCORER,
    QUOTE_FLOOR,
    THIRD_WITHIN,
    Scorer,
    select,
    shown_count,
    to_embed,
)
from citeqa.answer.evidence_text import asks_quantity, compound_share, is_label, states_number, stems, window
from citeqa.answer.prompt import NOT_IN_DOCS
from citeqa.core.events import Done, EvidenceReady
from citeqa.core.sentences import scorable_spans, sentence_spans
from citeqa.core.types import Evidence, Hit
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
    for question, reason, text in (
        ("What is the capital of Australia?", "subject_not_in_documents", f"{NOT_IN_DOCS} Your documents do not mention Australia."),
        ("who won the 1954 football world cup?", "no_relevant_passage", NOT_IN_DOCS),
    ):
        a = qa.ask(question, generate="never")
        assert a.abstained and a.answer_kind == "abstained" and a.text == text
        assert a.evidence == () and a.citations == () and a.sources  # the closest passages, offered
        assert a.to_dict()["answer_kind"] == "abstained" and a.to_dict()["abstain_reason"] == reason


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
        ("What are its default values for beta1 and beta2?", True),
        ("Does it read Markdown and Word files too?", True),
        ("How many FLOPs does it need?", True),  # "how many" asks; it names nothing "it" could be
        ("How many parameters does its large version have?", True),  # "its" after the verb points back
        ("How many parameters does the largest one have?", True),
        ("How many layers does ResNet have?", False),
        ("What was the maximum depth of Aurora Lake?", False),
        ("What does RAG stand for in retrieval-augmented generation?", False),
        ("How does Adam compute its update from the gradient moments?", False),
        ("Which model has the layers that the paper describes as residual?", False),
        # "it" that points ahead, in a question naming its subject
        ("How many GPU hours does it cost to train Fusion-in-Decoder with 100 passages?", False),
        ("How long does it take to charge the Kestrel K2?", False),
        ("How long does it take to train it?", True),
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
            assert a.abstained and a.text.startswith(NOT_IN_DOCS) and "Canberra" not in a.text, mode
            assert a.abstain_reason == "subject_not_in_documents" and a.missing_subject == "Australia"


# -- the scorer's terms, over equal cosines so that only the term under test decides ---------------


def _select_flat(question: str, *texts: str, limit: int = 3, scorer: Scorer = DEFAULT_SCORER):
    """Evidence over passages whose every sentence is equally close to the question (cosine 0.5)."""
    hits, vectors = [], {}
    for i, text in enumerate(texts):
        hit = Hit(f"c{i}", f"/d/paper{i}.pdf", 1, text, 1.0)
        spans = list(scorable_spans(text))
        vectors[hit.chunk_id] = (spans, np.full((len(spans), 2), [0.5, 0.0], dtype=np.float32))
        hits.append(hit)
    return select(question, np.array([1.0, 0.0], dtype=np.float32), hits, vectors, limit=limit, scorer=scorer)


def test_a_quantity_question_prefers_the_sentence_that_states_a_number() -> None:
    text = "The learning rate was decayed for the network. We lowered the learning rate 6 times faster."
    (best, *_) = _select_flat("How much faster was the learning rate decayed for the network?", text)
    assert best.quote == "We lowered the learning rate 6 times faster."
    # Not for a question that asks no quantity; and a citation year is not a number the sentence states.
    (best, *_) = _select_flat("Why was the learning rate decayed faster for the network?", text)
    assert best.quote == "The learning rate was decayed for the network."
    assert not states_number("SFO (Sohl-Dickstein et al., 2014) is slower [12].")
    assert states_number("It was started in September 2022.") and states_number("SFO is 5-10x slower.")
    assert asks_quantity("When was the BigCode project started?") and asks_quantity("How many GPUs?")
    assert not asks_quantity("Which optimizer does the paper use?")


def test_captions_and_axis_numbers_are_not_evidence() -> None:
    # The caption and the axis labels share more of the question's words than the answer does.
    caption = "Figure 3: Performance of the Fusion-in-Decoder retrieval method on SQuAD."
    axis = "Fusion-in-Decoder retrieval method on SQuAD 0.0 0.5 1.0 1.5 2.0 passages retrieved."
    answer = "Fusion-in-Decoder retrieves its passages with BM25 for SQuAD."
    assert is_label(caption) and is_label(axis) and is_label("Table 2. Error rates") and not is_label(answer)
    assert is_label("Steps to match Inception Figure 2: Single crop validation accuracy of Inception.")
    assert not is_label("The error rates are shown in Table 2.") and not is_label("As Figure 2 shows, it works.")
    question = "Which retrieval method does Fusion-in-Decoder use for SQuAD?"
    assert _select_flat(question, caption, axis, answer)[0].quote == answer



def test_a_hyphenated_name_counts_as_one_of_the_questions_words() -> None:
    """The sentence that only names the method matched two words of "Fusion-in-Decoder" and
    outscored the one that answers; as one concept, the name no longer outweighs the question."""
    naming = "The model performs evidence fusion in the decoder, and we call it Fusion-in-Decoder."
    answer = "Its passages are retrieved with BM25 for SQuAD."
    question = "Which retrieval method does Fusion-in-Decoder use for SQuAD?"
    assert compound_share(question) == {"fusion": 0.5, "decod": 0.5}
    assert compound_share("How deep is the lake?") == {}
    assert _select_flat(question, naming, answer)[0].quote == answer
    assert _select_flat(question, naming, answer, scorer=Scorer(compound=False))[0].quote == naming

def test_a_question_in_the_text_that_only_repeats_the_users_is_not_evidence() -> None:
    """A page's heading "What is rustdoc?" matched the user's "What is rustdoc?" best and was
    quoted as the answer; a question in the text with words of its own may still hold the fact."""
    heading, answer = "What is rustdoc?", "The standard Rust distribution ships with a tool called rustdoc."
    evidence = _select_flat("What is rustdoc?", f"{heading}\n\n{answer}")
    assert [e.quote for e in evidence] == [answer]
    example = "Is there a route of at most 2000 kilometres passing through all 15 largest cities?"
    assert _select_flat("What is the longest route in the example?", example)[0].quote == example


def test_a_sentence_with_none_of_the_questions_words_is_never_a_second_quote() -> None:
    """A slide deck's "1.8 million parcels" was quoted under "214 electric vans" for a question about
    vans, on its cosine and its number alone."""
    answer, other = "The fleet grew to 214 electric vans in Q3.", "The Rotterdam hub shipped 1.8 million parcels in September."
    evidence = _select_flat("How many electric vans does the fleet have?", answer, other)
    assert [e.quote for e in evidence] == [answer]
    (only,) = _select_flat("How big was it?", other)  # the best sentence is kept, words or not
    assert only.quote == other


def test_words_match_across_inflections_and_neighbours_lend_theirs() -> None:
    assert stems("passages retrieved") & stems("retrieval of passages") == {"passag", "retriev"}
    # Both sentences about lowering the rate have the same words; the second one's neighbour names
    # Inception, which the question asks about.
    text = (
        "The learning rate was lowered each step. Other networks also exist here. "
        "Inception was trained on many machines. The learning rate was lowered each epoch."
    )
    evidence = _select_flat("How was the learning rate lowered for Inception?", text)
    assert evidence[0].quote == "The learning rate was lowered each epoch."


def test_only_the_deeper_sentences_with_question_words_are_embedded() -> None:
    near = [Hit(f"n{i}", "/d/a.txt", None, f"Filler sentence number {i} about nothing at all.", 1.0) for i in range(2)]
    deep = Hit("d", "/d/b.txt", None, "Nothing here either, truly. The lake depth was 47 metres in 2023.", 1.0)
    wanted = to_embed("What was the depth of the lake?", [*near, deep], embedded=2, deep=4)
    assert wanted == {"d": [(28, len(deep.text))]}  # the sentence with the question's words, no other
    assert to_embed("What was the depth of the lake?", [*near, deep], embedded=3) == {}  # all embedded anyway
    assert to_embed("What was the depth of the lake?", [*near, deep], embedded=2, deep=0) == {}


def test_a_third_sentence_is_shown_only_when_it_scores_close_to_the_best() -> None:
    hit = Hit("c", "/d/a.txt", None, "One two three. Four five six. Seven eight nine.", 1.0)
    ev = [Evidence(1, hit, s, e, hit.text[s:e], score) for (s, e), score in zip(sentence_spans(hit.text), (1.0, 0.95, 0.92), strict=True)]
    assert shown_count(ev) == 3 and shown_count(ev[:2]) == 2 and shown_count(ev[:1]) == 1
    far = [*ev[:2], replace(ev[2], score=1.0 - THIRD_WITHIN - 0.01)]
    assert shown_count(far) == 2
    # A sentence far weaker than any that answers (markup, debris) is not quoted after the best.
    assert shown_count([ev[0], replace(ev[1], score=QUOTE_FLOOR - 0.01)]) == 1
    assert shown_count([replace(ev[0], score=0.55), replace(ev[1], score=0.5), replace(ev[2], score=0.48)]) == 2
