"""The paper questions in bench/paper_questions.jsonl, end to end with the bundled demo model and
default settings: the answer a user is shown must hold the fact, quoted from the right paper."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.engine import Citeqa
from citeqa.evaluation.metrics import contains_answer, same_file
from citeqa.questions import read_questions
from tests.conftest import REPO, ask_evidence, make_settings

pytestmark = pytest.mark.slow

QUESTIONS = REPO / "bench" / "paper_questions.jsonl"
# Measured with the default settings (CITEQA_GENERATE=auto, so the demo model writes nothing), the
# follow-ups asked after the questions they follow ("prev"): 39 of the 47 answerable questions
# hold the fact, 35 of the 40 unanswerable ones are abstained on, precision 39 of 50 (#21; the last
# batch of unanswerable questions, t5-*, was written to find what still gets through: 4 of its 9
# do). Before #21: 32 of 45 and 6 of 12 (the first 12). Below these floors the evidence selection
# or the retrieval got worse.
MIN_GOLD_IN_ANSWER = 38 / 47  # one answer of margin below the 39 measured
MIN_UNANSWERABLE_ABSTAINED = 33 / 40
MIN_PRECISION = 0.75


@pytest.fixture(scope="module")
def papers(corpus: Path, tmp_path_factory, embedder, generator):
    qa = Citeqa(make_settings(tmp_path_factory.mktemp("papers")), embedder=embedder, generator=generator)
    assert not qa.ingest([corpus / "pdfs"]).failed
    yield qa
    qa.close()


def test_paper_questions_are_answered_from_the_right_page(papers: Citeqa) -> None:
    questions = list(read_questions(QUESTIONS))
    by_id = {q.id: q for q in questions}
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= 45 and len(questions) - len(answerable) >= 12
    answers = {}
    right = shown = abstained_unanswerable = 0
    for q in questions:  # a follow-up comes after the question it follows, as in a chat
        prev = by_id.get(q.prev or "")
        history = [("user", prev.question), ("assistant", answers[prev.id].text)] if prev else []
        a = answers[q.id] = papers.ask(q.question, history=history)
        for e in a.evidence:
            assert e.hit.text[e.start : e.end] == e.quote and a.sources[e.n - 1] == e.hit
        shown += not a.abstained
        if not q.answerable:
            abstained_unanswerable += a.abstained
            assert a.abstained or a.abstain_reason is None
            continue
        quoting = [e for e in a.evidence if contains_answer(e.quote, q.answers)]
        if not a.abstained and contains_answer(a.text, q.answers):
            right += 1
            # The fact comes from a quote of the gold paper, with its page.
            assert any(same_file(e.hit.source, q.source) and e.hit.page for e in quoting), q.id
    unanswerable = len(questions) - len(answerable)
    print("RIGHT", right, shown, abstained_unanswerable)
    assert right / len(answerable) >= MIN_GOLD_IN_ANSWER, f"{right} of {len(answerable)}"
    assert abstained_unanswerable / unanswerable >= MIN_UNANSWERABLE_ABSTAINED, f"{abstained_unanswerable} of {unanswerable}"
    assert right / shown >= MIN_PRECISION, f"precision {right} of {shown}"
    for q in questions:
        if not q.answerable and "Australia" in q.question:
            a = papers.ask(q.question, generate="always")
            assert a.abstained and "Canberra" not in a.text


def test_a_question_about_the_authors_quotes_the_byline(papers: Citeqa) -> None:
    a = papers.ask("Who wrote the Adam paper?")
    assert not a.abstained and a.evidence[0].hit.source.endswith("adam.pdf") and a.evidence[0].hit.page == 1
    assert "Kingma" in a.evidence[0].quote and a.evidence[0].hit.text[a.evidence[0].start : a.evidence[0].end] == a.evidence[0].quote
    where = papers.ask("What university is the first author from?", history=[("user", "Who wrote the Adam paper?"), ("assistant", a.text)])
    assert "University of Amsterdam" in where.text
    # a question that names the authors but asks something else is answered as before
    decay = papers.ask("Which weight decay did the ResNet authors use with SGD?")
    assert "0.0001" in decay.text and "Kaiming" not in decay.text


def test_a_question_naming_nothing_is_about_the_conversation_when_it_finds_nothing_alone(papers: Citeqa) -> None:
    first = papers.ask("What dropout rate does Fusion-in-Decoder use?")
    alone = papers.ask("Which hardware was used for training?")
    assert alone.abstained and alone.abstain_reason == "no_relevant_passage"
    in_chat = papers.ask("Which hardware was used for training?", history=[("user", first.question), ("assistant", first.text)])
    assert "Tesla V100" in in_chat.text and all(e.hit.source.endswith("2007.01282.pdf") for e in in_chat.evidence)


def test_a_value_of_another_thing_on_the_same_page_is_no_answer(papers: Citeqa) -> None:
    """Tuning questions of #21 (bench/heldout4_questions.jsonl, read after its end run)."""
    # StarCoder2's page 2 names GPT-4 once, passages away from "We start base model training
    # with a 4k context window": the authors' own model, not GPT-4
    a = papers.ask("What is the context window size of GPT-4?")
    assert a.abstained and "4k context" not in a.quoted, a.text
    # a table row's cells are measurements: "BN-Baseline: Steps to 13.3 · 72.2% 106" dates nothing
    a = papers.ask("When was version 3 of the Batch Normalization paper put on arXiv?")
    assert "106" not in a.quoted, a.text
    # "how often" is answered by a period or a rate, not by a row of scores
    a = papers.ask("How often are Fusion-in-Decoder checkpoints evaluated during training?")
    assert "TriviaQA EM" not in a.quoted and (a.abstained or "every" in a.quoted), a.text
    # "This model has 3.8 billion FLOPs." is the 50-layer ResNet named two sentences before it
    a = papers.ask("How many FLOPs does the 152-layer ResNet need?")
    assert "11.3 billion" in a.quoted and "3.8 billion" not in a.quoted, a.text
    # "it" is the 110-layer ResNet: not the row of the 1202-layer one
    q = "What CIFAR-10 test error does the 110-layer ResNet reach?"
    a = papers.ask("How many parameters does it have?", history=[("user", q), ("assistant", papers.ask(q).text)])
    assert "1.7M" in a.quoted and "19.4M" not in a.quoted, a.text



def test_a_which_question_quotes_the_sentence_with_the_asked_thing(papers: Citeqa) -> None:
    # The method's name is the question's rarest word, and a sentence that only names the method
    # ("... we refer to it as Fusion-in-Decoder") outscored the one that says which retrieval.
    a = ask_evidence(papers, "Which retrieval method does Fusion-in-Decoder use for SQuAD?")
    assert not a.abstained and "with BM25 for SQuAD" in a.quoted, a.text
    assert "we refer to it as" not in a.quoted, a.text


def test_a_backbone_of_another_depth_and_a_gain_are_no_answer(papers: Citeqa) -> None:
    # The paper gives Faster R-CNN's COCO results with ResNet-101 (a sibling of ResNet-152 named
    # in the question's context) and a 6.0% increase of mAP@[.5, .95] (a change, and "Faster" in
    # the method's name asks for none).
    a = ask_evidence(papers, "What COCO mAP does Faster R-CNN reach with a ResNet-152 backbone?")
    assert a.abstained and "ResNet-101" not in a.quoted and "6.0% increase" not in a.quoted, a.text


def test_a_value_of_the_family_is_no_answer_for_a_size_written_before_the_name(papers: Citeqa) -> None:
    # "the 13B WizardMath model" asks about WizardMath 13B: the paper's own scores ("+9.2 (22.7
    # vs. 13.5) on MATH") are its largest model's; and StarCoder's release date is not StarCoder2's.
    a = ask_evidence(papers, "What pass@1 does the 13B WizardMath model get on MATH?")
    assert a.abstained and "22.7" not in a.quoted, a.text
    a = ask_evidence(papers, "Which is the best validation accuracy that BN-x30 reached?")
    assert not a.abstained and "74.8%" in a.quoted and "BN-x5 needs" not in a.quoted, a.text
    # a sentence that opens with another dataset or model gives its value, not the asked one's
    a = ask_evidence(papers, "How many object categories does MS COCO have, according to the ResNet paper's detection appendix?")
    assert not a.abstained and "80 object categories" in a.quoted and "200 object categories" not in a.quoted, a.text


def test_a_followup_asking_with_another_setting_does_not_quote_the_previous_row(papers: Citeqa) -> None:
    first = "What top-5 validation error does a single BN-Inception model get with a single crop?"
    before = ask_evidence(papers, first)
    assert "7.82%" in before.quoted, before.text
    a = papers.ask("And with multi-crop testing?", history=[("user", first), ("assistant", before.text)], generate="never")
    assert "7.82%" not in a.quoted, a.text


def test_a_followup_naming_another_row_of_the_quoted_table_quotes_that_row(papers: Citeqa) -> None:
    # "And the ensemble?" after the multicrop row: the ensemble's row of the same table (Figure 4 of
    # the batch-normalization paper), which the follow-up's words alone do not retrieve
    first = "What top-1 error does the multicrop BN-Inception model get on the ImageNet validation set?"
    before = ask_evidence(papers, first)
    assert "21.99%" in before.quoted, before.text
    a = papers.ask("And the ensemble?", history=[("user", first), ("assistant", before.text)], generate="never")
    assert not a.abstained and "BN-Inception ensemble" in a.quoted and "20.1%" in a.quoted, a.text
    assert a.citations[0].hit.source.endswith("1502.03167.pdf") and a.citations[0].hit.page == 8, a.citations
