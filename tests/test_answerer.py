"""Answerer: scripted model output for exact checks, then the real bundled model end to end."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from citeqa.answer.answerer import Answerer
from citeqa.answer.citations import parse_markers
from citeqa.answer.llm import LocalGenerator as Generator
from citeqa.answer.prompt import NOT_IN_DOCS
from citeqa.core import bundled
from citeqa.core.types import Answer, Hit

BERT = Hit(
    "c1",
    "/docs/bert.pdf",
    3,
    "BERT-base has 12 transformer layers and 110 million parameters. "
    "It was pre-trained on BooksCorpus and English Wikipedia.",
    0.9,
)
EIFFEL = Hit(
    "c2",
    "/docs/paris.md",
    None,
    "The Eiffel Tower is in Paris. It was completed in 1889 and is 330 metres tall.",
    0.5,
)
HITS = [BERT, EIFFEL]


class ScriptedGenerator:
    """Stands in for Generator: renders plainly, counts words, streams a fixed script."""

    n_ctx = 4096
    max_tokens = 64

    def __init__(self, *scripts: Sequence[str]) -> None:
        self.scripts = [list(s) for s in scripts]
        self.prompts: list[str] = []

    def render(self, system: str, messages: Sequence[tuple[str, str]]) -> str:
        return "\n".join([system, *(f"{r}: {c}" for r, c in messages)])

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def count_prompt_tokens(self, prompt: str) -> int:
        return self.count_tokens(prompt)

    def stream(self, prompt: str, **_: object) -> Iterator[str]:
        self.prompts.append(prompt)
        yield from self.scripts.pop(0)

    def complete(self, prompt: str, **kw: object) -> str:
        return "".join(self.stream(prompt, **kw))


def answer_with(*pieces: str, hits: Sequence[Hit] = HITS) -> Answer:
    return Answerer(ScriptedGenerator(pieces)).stream("q?", hits).result()  # type: ignore[arg-type]


def check_invariants(a: Answer) -> None:
    assert set(c.hit for c in a.citations) <= set(a.sources)
    for c in a.citations:
        assert a.sources[c.n - 1] == c.hit
        assert c.quote and c.quote in c.hit.text
    assert all(1 <= n <= len(a.sources) for n in parse_markers(a.text))
    if a.abstained:
        assert a.text == NOT_IN_DOCS and not a.citations and not a.grounded


def test_cited_answer_is_grounded_with_quotes() -> None:
    a = answer_with("BERT-base has ", "12 layers [1", "]. The Eiffel Tower was completed in 1889 [2].")
    check_invariants(a)
    assert a.text == "BERT-base has 12 layers [1]. The Eiffel Tower was completed in 1889 [2]."
    assert [c.n for c in a.citations] == [1, 2]
    assert a.citations[0].quote == "BERT-base has 12 transformer layers and 110 million parameters."
    # "It was completed..." alone lacks "Eiffel Tower": the two sentences support the claim better.
    assert a.citations[1].quote == EIFFEL.text
    assert [s.citations for s in a.sentences] == [(1,), (2,)]
    assert all(s.supported for s in a.sentences)
    assert a.grounded and not a.abstained and a.invalid_citations == 0
    assert a.sources == tuple(HITS)
    assert a.timings.first_token_s is not None and a.timings.total_s >= a.timings.first_token_s


def test_citations_are_only_the_cited_sources() -> None:
    a = answer_with("The Eiffel Tower is in Paris [2].")
    assert [c.n for c in a.citations] == [2]
    assert a.citations[0].hit == EIFFEL
    assert a.citations[0].quote == "The Eiffel Tower is in Paris."


def test_invalid_markers_are_removed_and_counted() -> None:
    a = answer_with("BERT-base has 12 layers [1][5]. Paris has the tower [7].")
    check_invariants(a)
    assert a.text == "BERT-base has 12 layers [1]. Paris has the tower."
    assert a.invalid_citations == 2
    assert [c.n for c in a.citations] == [1]


def test_stream_pieces_hide_invalid_markers() -> None:
    st = Answerer(ScriptedGenerator(["Twelve layers ", "[", "9", "]", " and [", "1", "]."])).stream(
        "q?", HITS
    )  # type: ignore[arg-type]
    assert "".join(st) == "Twelve layers and [1]."
    assert st.answer is not None and st.answer.text == "Twelve layers and [1]."


def test_unsupported_cited_sentence_is_not_grounded() -> None:
    a = answer_with("BERT-base has 12 layers [1]. The tower is made of cheese [2].")
    check_invariants(a)
    assert [s.supported for s in a.sentences] == [True, False]
    assert not a.grounded
    assert [c.n for c in a.citations] == [1, 2]  # still shown, with their best quote


def test_wrong_number_is_not_supported() -> None:
    # Lexically close (and close in embedding space), but the number is not the passage's.
    a = answer_with("BERT-base has 24 transformer layers [1].")
    assert a.sentences[0].score == 0.0 and not a.sentences[0].supported and not a.grounded


def test_answer_without_markers_is_checked_but_not_grounded() -> None:
    a = answer_with("The Eiffel Tower was completed in 1889. It has 99 floors of pizza.")
    check_invariants(a)
    assert a.citations == () and not a.grounded and not a.abstained
    assert [s.citations for s in a.sentences] == [(), ()]
    assert [s.supported for s in a.sentences] == [True, False]  # checked against every source


@pytest.mark.parametrize(
    "text", [NOT_IN_DOCS, "I'm sorry, the passages do not mention the author.", "", "  [3] "]
)
def test_abstention_gives_one_message(text: str) -> None:
    a = answer_with(text)
    check_invariants(a)
    assert a.abstained and a.text == NOT_IN_DOCS
    assert a.sources == tuple(HITS) and a.sentences == ()


def test_no_hits_abstains_without_the_model() -> None:
    gen = ScriptedGenerator()
    st = Answerer(gen).stream("q?", [])  # type: ignore[arg-type]
    assert list(st) == [NOT_IN_DOCS]
    assert st.answer is not None and st.answer.abstained and st.answer.sources == ()
    assert gen.prompts == []


def test_result_and_iteration_agree() -> None:
    st = Answerer(ScriptedGenerator(["Paris [2]."])).stream("q?", HITS)  # type: ignore[arg-type]
    assert st.sources == tuple(HITS)
    first = st.result()
    assert st.result() is first and list(st) == []


def test_injected_score_fn_decides_support() -> None:
    calls: list[str] = []

    def never(claim: str, candidates: Sequence[str]) -> list[float]:
        calls.append(claim)
        return [0.1] * len(candidates)

    a = Answerer(ScriptedGenerator(["BERT-base has 12 layers [1]."]), never).stream("q?", HITS).result()  # type: ignore[arg-type]
    assert calls == ["BERT-base has 12 layers."]
    assert not a.sentences[0].supported and not a.grounded


def test_rewrite_followup() -> None:
    history = [("user", "How many layers does BERT-base have?"), ("assistant", "12 [1].")]
    ok = Answerer(ScriptedGenerator(["How many parameters does BERT-base have?\n"]))  # type: ignore[arg-type]
    assert ok.rewrite_followup("and parameters?", history) == "How many parameters does BERT-base have?"
    assert ok.rewrite_followup("Standalone?", []) == "Standalone?"
    labelled = Answerer(ScriptedGenerator(['Standalone question: "When was BERT released?"']))  # type: ignore[arg-type]
    assert labelled.rewrite_followup("when?", history) == "When was BERT released?"


@pytest.mark.parametrize(
    "output", ["", "word " * 200, "12 layers [1].", "User: How many layers does BERT-base have?"]
)
def test_rewrite_followup_falls_back(output: str) -> None:
    history = [("user", "How many layers does BERT-base have?"), ("assistant", "12 [1].")]
    a = Answerer(ScriptedGenerator([output]))  # type: ignore[arg-type]
    assert (
        a.rewrite_followup("and parameters?", history)
        == "How many layers does BERT-base have? and parameters?"
    )


# -- the real model -------------------------------------------------------------------


@pytest.fixture(scope="module")
def gen() -> Generator:
    # One thread: see tests/test_llm.py (spin-waiting threads on a busy machine).
    return Generator(
        bundled.llm_path(), n_ctx=2048, n_threads=1, n_gpu_layers=0, max_tokens=64, temperature=0.0
    )


@pytest.mark.parametrize(
    "question",
    [
        "How many layers does BERT-base have?",
        "When was the Eiffel Tower completed?",
        "What is the capital of Japan?",
    ],
)
def test_real_model_end_to_end(gen: Generator, question: str) -> None:
    st = Answerer(gen).stream(question, HITS)
    pieces = list(st)
    a = st.answer
    assert a is not None and pieces
    check_invariants(a)
    assert a.question == question and a.sources == tuple(HITS)
    assert a.timings.first_token_s is not None
    if not a.abstained:
        assert a.text == "".join(pieces).strip() or a.invalid_citations
        assert a.sentences and a.grounded == (bool(a.citations) and all(s.supported for s in a.sentences))


def test_real_model_rewrite_returns_a_question(gen: Generator) -> None:
    out = Answerer(gen).rewrite_followup(
        "and how tall is it?", [("user", "When was the Eiffel Tower built?"), ("assistant", "1889 [1].")]
    )
    assert out.strip() and len(out) < 400
