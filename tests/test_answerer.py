"""Answerer: scripted model output for exact checks of the rules, then the real bundled model."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace

import pytest

from citeqa.answer.answerer import (
    EVIDENCE_HEADER,
    GENERATED_HEADER,
    Answerer,
    Clock,
    Policy,
    answer_text,
    evidence_text,
)
from citeqa.answer.citations import MARKER, parse_markers
from citeqa.answer.llm import LocalGenerator as Generator
from citeqa.answer.model_gate import ModelGate
from citeqa.answer.prompt import NOT_IN_DOCS
from citeqa.answer.support import SupportCheck, strip_places
from citeqa.core import bundled
from citeqa.core.events import Done, Draft, EvidenceReady, SentenceChecked, Waiting
from citeqa.core.types import Answer, Evidence, Hit

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
HITS = (BERT, EIFFEL)


def ev(n: int, hit: Hit, sentence: str, score: float = 1.0) -> Evidence:
    start = hit.text.index(sentence)
    return Evidence(n, hit, start, start + len(sentence), sentence, score)


LAYERS = ev(1, BERT, "BERT-base has 12 transformer layers and 110 million parameters.", 1.2)
TOWER = ev(2, EIFFEL, "It was completed in 1889 and is 330 metres tall.", 0.9)
EVIDENCE = (LAYERS, TOWER)


class ScriptedGenerator:
    """Stands in for Generator: renders plainly, counts words, streams a fixed script."""

    n_ctx = 4096
    max_tokens = 64

    def __init__(self, *scripts: Sequence[str], delay: float = 0.0) -> None:
        self.scripts = [list(s) for s in scripts]
        self.prompts: list[str] = []
        self.delay = delay
        self.closed = 0

    def render(self, system: str, messages: Sequence[tuple[str, str]]) -> str:
        return "\n".join([system, *(f"{r}: {c}" for r, c in messages)])

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def count_prompt_tokens(self, prompt: str) -> int:
        return self.count_tokens(prompt)

    def stream(self, prompt: str, **_: object) -> Iterator[str]:
        self.prompts.append(prompt)
        try:
            for piece in self.scripts.pop(0):
                time.sleep(self.delay)
                yield piece
        finally:
            self.closed += 1


def ask(*pieces: str, evidence: Sequence[Evidence] = EVIDENCE, relevant: bool = True, gen=None, turns=None):
    gen = gen or ScriptedGenerator(pieces)
    answerer = Answerer(SupportCheck())  # lexical overlap stands in for the embedder here
    stream = answerer.stream(
        "How many layers does BERT-base have?",
        HITS,
        evidence,
        relevant=relevant,
        clock=Clock(time.perf_counter(), 0.01, 0.02),
        model=lambda: gen,
        turns=turns,
    )
    return stream, gen


def check_invariants(a: Answer, pieces: list[str]) -> None:
    assert "".join(pieces) == a.text
    assert all(1 <= n <= len(a.sources) for n in parse_markers(a.text))
    for e in a.evidence:
        assert e.hit.text[e.start : e.end] == e.quote and a.sources[e.n - 1] == e.hit
    for s in a.unsupported:
        assert s.text not in a.generated
    if a.abstained:
        assert a.text == NOT_IN_DOCS and not a.citations and not a.evidence
        assert a.quoted == a.generated == ""
    else:  # the parts are the text's parts, so that no reader has to take the text apart
        assert a.text == answer_text(a.quoted, a.generated, cut=a.truncated and a.answer_kind == "generated")


def test_evidence_comes_first_then_supported_sentences_only() -> None:
    stream, gen = ask("BERT-base has ", "12 layers [1", "]. The tower is made of cheese [2]. ", "It is old.")
    events = list(stream.events())
    a = stream.answer
    assert isinstance(events[0], EvidenceReady) and events[0].text == evidence_text(EVIDENCE)
    assert events[0].text.startswith(EVIDENCE_HEADER) and "[1] “BERT-base has 12" in events[0].text
    assert "(bert.pdf, p. 3)" in events[0].text and "(paris.md)" in events[0].text
    assert isinstance(events[-1], Done) and events[-1].answer is a
    checked = [e.sentence for e in events if isinstance(e, SentenceChecked)]
    assert [(s.text, s.supported) for s in checked] == [
        ("BERT-base has 12 layers [1].", True),
        ("The tower is made of cheese [2].", False),
        ("It is old.", False),  # cites nothing: never supported
    ]
    assert a.text == evidence_text(EVIDENCE) + GENERATED_HEADER + "BERT-base has 12 layers [1]."
    assert a.quoted == evidence_text(EVIDENCE) and a.generated == "BERT-base has 12 layers [1]."
    assert a.to_dict()["quoted"] == a.quoted and a.to_dict()["generated"] == a.generated
    assert a.answer_kind == "generated" and a.grounded and not a.abstained
    assert "".join(e.text for e in events if not isinstance(e, Draft | Waiting)) == a.text
    check_invariants(
        a, [p for p in (getattr(e, "text", "") for e in events if not isinstance(e, Draft)) if p]
    )
    # The prompt holds the evidence and its neighbours, numbered by passage, without file names.
    assert "[1] BERT-base has 12 transformer layers" in gen.prompts[0] and "bert.pdf" not in gen.prompts[0]


def test_an_uncited_sentence_a_given_passage_supports_gets_its_marker() -> None:
    # Small models copy evidence without a marker: citeqa cites the passage that supports it, and
    # only that one; an uncited claim no given passage supports stays unsupported.
    stream, _ = ask("The Eiffel Tower was completed in 1889. BERT-base has 24 transformer layers.")
    list(stream)
    a = stream.answer
    assert [(s.text, s.citations, s.supported, s.attributed) for s in a.sentences] == [
        ("The Eiffel Tower was completed in 1889 [2].", (2,), True, True),
        ("BERT-base has 24 transformer layers.", (), False, False),
    ]
    assert a.text.endswith(GENERATED_HEADER + "The Eiffel Tower was completed in 1889 [2].")
    assert a.to_dict()["sentences"][0]["attributed"] is True


def test_wrong_number_is_not_supported_and_answer_stays_extractive() -> None:
    stream, _ = ask("BERT-base has 24 transformer layers [1].")
    pieces = list(stream)
    a = stream.answer
    assert a.sentences[0].text == "BERT-base has 24 transformer layers [1]." and not a.sentences[0].supported
    assert a.answer_kind == "extractive" and a.text == evidence_text(EVIDENCE)
    check_invariants(a, pieces)


def test_markers_pointing_at_no_passage_are_removed_and_counted() -> None:
    stream, _ = ask("BERT-base has 12 transformer layers [1][5]. Paris has the tower [7]. Rome has it [9].")
    pieces = list(stream)
    a = stream.answer
    # [7] pointed nowhere; the passage given as [2] supports the claim, so it is cited instead.
    assert [s.text for s in a.sentences] == [
        "BERT-base has 12 transformer layers [1].",
        "Paris has the tower [2].",
        "Rome has it.",
    ]
    assert [s.attributed for s in a.sentences] == [False, True, False]
    assert a.invalid_citations == 3
    assert not MARKER.search(a.text.replace("[1]", "").replace("[2]", ""))
    check_invariants(a, pieces)


def test_file_names_and_pages_written_by_the_model_are_dropped() -> None:
    assert strip_places("It has 12 layers (bert.pdf, p. 3) [1].") == "It has 12 layers [1]."
    assert strip_places("See kent_k2_handbook.md on page 4 for it [2].") == "See for it [2]."
    stream, _ = ask("BERT-base has 12 transformer layers, see kent_k2_handbook.md [1].")
    a = stream.result()
    assert "kent_k2_handbook" not in a.text and a.answer_kind == "generated"


@pytest.mark.parametrize("text", [NOT_IN_DOCS, "I'm sorry, the passages do not mention the author.", ""])
def test_model_refusal_with_weak_evidence_abstains(text: str) -> None:
    weak = (Evidence(1, BERT, 0, 10, BERT.text[:10], 0.3),)
    stream, _ = ask(text, evidence=weak)
    events = list(stream.events())
    a = stream.answer
    assert events[0].text == ""  # weak evidence is held back until the model has spoken
    assert a.abstained and a.answer_kind == "abstained" and a.text == NOT_IN_DOCS
    assert events[-1].text == NOT_IN_DOCS and a.sources == HITS


def test_weak_evidence_with_a_supported_sentence_is_answered() -> None:
    weak = (Evidence(1, BERT, 0, 64, BERT.text[:64], 0.3),)
    stream, _ = ask("BERT-base has 12 transformer layers [1].", evidence=weak)
    pieces = list(stream)
    a = stream.answer
    assert len(pieces) == 1 and a.answer_kind == "generated"
    check_invariants(a, pieces)


def test_not_relevant_abstains_without_the_model() -> None:
    stream, gen = ask("BERT has 12 layers [1].", relevant=False)
    pieces = list(stream)
    assert pieces == [NOT_IN_DOCS] and stream.answer.abstained and gen.prompts == []
    assert stream.answer.sources == HITS  # the closest passages are still offered


def test_generation_off_is_extractive_and_never_asks_for_the_model() -> None:
    called = []
    stream = Answerer(SupportCheck()).stream(
        "q?", HITS, EVIDENCE, relevant=True, clock=Clock(time.perf_counter(), 0, 0), model=None
    )
    assert list(stream) == [evidence_text(EVIDENCE)] and not called
    assert stream.answer.answer_kind == "extractive" and stream.answer.timings.first_token_s is None
    # Generation off and weak evidence: nothing generated can be supported, so it abstains.
    weak = (Evidence(1, BERT, 0, 10, BERT.text[:10], 0.3),)
    off = Answerer(SupportCheck()).stream("q?", HITS, weak, relevant=True, clock=Clock(0, 0, 0), model=None)
    assert off.result().abstained


def test_a_third_quote_is_shown_only_when_nearly_as_good_as_the_first() -> None:
    pretrained = ev(1, BERT, "It was pre-trained on BooksCorpus and English Wikipedia.")
    for score, shown in ((1.15, 3), (1.0, 2)):  # the best scores 1.2 (LAYERS)
        evidence = (LAYERS, TOWER, replace(pretrained, score=score))
        stream = Answerer(SupportCheck()).stream(
            "q?", HITS, evidence, relevant=True, clock=Clock(time.perf_counter(), 0, 0), model=None
        )
        a = stream.result()
        assert a.evidence == evidence[:shown] and a.text == evidence_text(evidence[:shown])
        assert ("English Wikipedia" in a.text) is (shown == 3)


def test_cut_at_max_tokens_says_so() -> None:
    gen = ScriptedGenerator(["BERT-base has 12 transformer layers [1]. "] + ["More "] * 70)
    stream, _ = ask(gen=gen)
    a = stream.result()
    assert a.truncated and a.text.endswith("(The model's answer was cut at CITEQA_MAX_TOKENS tokens.)")
    assert a.generated == "BERT-base has 12 transformer layers [1]."  # the note is no part of it


def test_policy_is_one_decision() -> None:
    p = Policy(weak_evidence=0.6)
    assert p.before(False, EVIDENCE, True) == "abstain" and p.before(True, (), True) == "abstain"
    assert p.before(True, EVIDENCE, True) == p.before(True, EVIDENCE, False) == "show"
    assert p.after("show", True, 0) == "extractive" and p.after("show", False, 2) == "generated"
    assert p.after("hold", False, 0) == p.after("hold", True, 1) == "abstained"


def test_close_mid_stream_stops_generation_and_frees_the_turn() -> None:
    turns = ModelGate(1)
    gen = ScriptedGenerator(["BERT-base has 12 transformer layers [1]. "] + ["Word "] * 50, delay=0.01)
    stream, _ = ask(gen=gen, turns=turns)
    it = iter(stream)
    assert next(it) == evidence_text(EVIDENCE)
    assert turns.running == 0  # the turn is only taken after the evidence is out
    next(it)  # the first supported sentence: generation is under way, holding the turn
    assert turns.running == 1
    stream.close()
    assert turns.running == 0 and gen.closed == 1
    assert stream.answer is not None and stream.answer.text == evidence_text(EVIDENCE) + GENERATED_HEADER + (
        "BERT-base has 12 transformer layers [1]."
    )
    assert stream.answer.answer_kind == "generated" and stream.answer.quoted == evidence_text(EVIDENCE)
    assert stream.answer.generated == "BERT-base has 12 transformer layers [1]."
    with turns.turn():  # free at once for the next question
        pass


def test_waiting_for_the_model_is_reported_and_can_be_left() -> None:
    turns = ModelGate(1)
    held = turns.turn()
    stream, gen = ask("BERT-base has 12 transformer layers [1].", turns=turns)
    events = stream.events()
    assert isinstance(next(events), EvidenceReady)
    assert next(events) == Waiting(1)
    stream.close()
    assert turns.waiting == 0 or _eventually(lambda: turns.waiting == 0)
    held.release()
    assert gen.prompts == []


def test_close_from_another_thread_stops_a_running_stream() -> None:
    gen = ScriptedGenerator(["word "] * 2000, delay=0.002)
    stream, _ = ask(gen=gen)
    threading.Timer(0.2, stream.close).start()
    t = time.perf_counter()
    list(stream)
    assert time.perf_counter() - t < 3 and gen.closed == 1


def _eventually(cond, timeout: float = 2.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.02)
    return False


# -- the real model -------------------------------------------------------------------


@pytest.fixture(scope="module")
def gen() -> Generator:
    # One thread: see tests/test_llm.py (spin-waiting threads on a busy machine).
    return Generator(
        bundled.llm_path(), n_ctx=2048, n_threads=1, n_gpu_layers=0, max_tokens=64, temperature=0.0
    )


@pytest.mark.parametrize(
    ("question", "evidence"),
    [("How many layers does BERT-base have?", (LAYERS,)), ("When was the Eiffel Tower completed?", (TOWER,))],
)
def test_real_model_never_shows_an_unsupported_sentence(
    gen: Generator, embedder, question: str, evidence
) -> None:
    answerer = Answerer(SupportCheck(embedder.similarity))
    stream = answerer.stream(
        question, HITS, evidence, relevant=True, clock=Clock(time.perf_counter(), 0, 0), model=lambda: gen
    )
    pieces = list(stream)
    a = stream.answer
    check_invariants(a, pieces)
    assert pieces[0] == evidence_text(evidence)  # what the documents say, before the model wrote anything
    assert a.answer_kind in ("generated", "extractive") and a.timings.first_token_s is not None
    assert a.sentences  # the demo model wrote something, and each sentence was checked
    for s in a.sentences:
        assert (s.text in a.generated) == s.supported
