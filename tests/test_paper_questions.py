"""The paper questions in bench/paper_questions.jsonl, end to end with the bundled demo model and
default settings: the answer a user is shown must hold the fact, quoted from the right paper."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.engine import Citeqa
from citeqa.evaluation.metrics import contains_answer, same_file
from citeqa.questions import read_questions
from tests.conftest import REPO, make_settings

pytestmark = pytest.mark.slow

QUESTIONS = REPO / "bench" / "paper_questions.jsonl"
# Measured with the default settings (CITEQA_GENERATE=auto, so the demo model writes nothing):
# 30 of 38. The first 24: 18 (13 before stemming, the number and neighbour terms, caption penalty,
# 20 passages and the third quote; 16 before a hyphenated name's words shared one weight). The 14
# h-* questions, written after the last scorer change and not used to tune it: 12.
# Below this the evidence selection or the retrieval got worse.
MIN_GOLD_IN_ANSWER = 30 / 38


@pytest.fixture(scope="module")
def papers(corpus: Path, tmp_path_factory, embedder, generator):
    qa = Citeqa(make_settings(tmp_path_factory.mktemp("papers")), embedder=embedder, generator=generator)
    assert not qa.ingest([corpus / "pdfs"]).failed
    yield qa
    qa.close()


def test_paper_questions_are_answered_from_the_right_page(papers: Citeqa) -> None:
    questions = list(read_questions(QUESTIONS))
    answerable = [q for q in questions if q.answerable]
    assert len(answerable) >= 38 and len(questions) - len(answerable) >= 4
    right = 0
    for q in answerable:
        a = papers.ask(q.question)
        for e in a.evidence:
            assert e.hit.text[e.start : e.end] == e.quote and a.sources[e.n - 1] == e.hit
        quoting = [e for e in a.evidence if contains_answer(e.quote, q.answers)]
        if not a.abstained and contains_answer(a.text, q.answers):
            right += 1
            # The fact comes from a quote of the gold paper, with its page.
            assert any(same_file(e.hit.source, q.source) and e.hit.page for e in quoting), q.id
    assert right / len(answerable) >= MIN_GOLD_IN_ANSWER, f"{right} of {len(answerable)}"
    for q in questions:
        if not q.answerable and "Australia" in q.question:
            a = papers.ask(q.question, generate="always")
            assert a.abstained and "Canberra" not in a.text
