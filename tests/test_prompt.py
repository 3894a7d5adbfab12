"""Prompt text and fitting passages into the context window, counted with the real tokenizer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from citeqa.answer.llm import LocalGenerator as Generator
from citeqa.answer.prompt import (
    NOT_IN_DOCS,
    SYSTEM_PROMPT,
    build_prompt,
    echo_stops,
    format_context,
    user_message,
)
from citeqa.core import bundled
from citeqa.core.errors import ModelError
from citeqa.core.types import Hit


@pytest.fixture(scope="module")
def gen() -> Generator:
    # One thread: see tests/test_llm.py (spin-waiting threads on a busy machine).
    return Generator(bundled.llm_path(), n_ctx=2048, n_threads=1, n_gpu_layers=0, max_tokens=384)


@dataclass
class Budget:
    """The real generator's rendering and tokenizer with a chosen window, to make budgets exact."""

    gen: Generator
    n_ctx: int
    max_tokens: int

    def render(self, system: str, messages: Sequence[tuple[str, str]]) -> str:
        return self.gen.render(system, messages)

    def count_tokens(self, text: str) -> int:
        return self.gen.count_tokens(text)

    def count_prompt_tokens(self, prompt: str) -> int:
        return self.gen.count_prompt_tokens(prompt)


def hit(i: int, words: int = 40, page: int | None = 1) -> Hit:
    text = " ".join(f"fact{i}-{j}" for j in range(words)) + "."
    return Hit(chunk_id=f"c{i}", source=f"/docs/doc{i}.pdf", page=page, text=text, score=1.0 - i / 100)


def test_system_prompt_names_the_fixed_abstention() -> None:
    assert NOT_IN_DOCS == "The documents do not contain the answer."
    assert NOT_IN_DOCS in SYSTEM_PROMPT
    assert "[1]" in SYSTEM_PROMPT
    assert len(SYSTEM_PROMPT) < 500  # the demo model has 135M parameters


def test_format_context_numbers_and_labels() -> None:
    hits = [
        Hit("a", "/home/u/report.pdf", 3, "  Revenue grew.  ", 0.9),
        Hit("b", "notes.md", None, "Plain text.", 0.5),
    ]
    assert format_context(hits) == "[1] report.pdf, p. 3\nRevenue grew.\n\n[2] notes.md\nPlain text."


def test_build_prompt_keeps_everything_that_fits(gen: Generator) -> None:
    hits = [hit(1), hit(2), hit(3)]
    prompt, kept = build_prompt(gen, "What is fact2-3?", hits)
    assert kept == hits
    assert prompt.startswith(f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>")
    assert prompt.index("[1] doc1.pdf, p. 1") < prompt.index("[2] doc2.pdf") < prompt.index("[3] doc3.pdf")
    assert prompt.index("[3] doc3.pdf") < prompt.index("What is fact2-3?")
    assert gen.count_prompt_tokens(prompt) + gen.max_tokens <= gen.n_ctx


def test_over_budget_drops_the_lowest_ranked_hits(gen: Generator) -> None:
    hits = [hit(i, words=120) for i in range(1, 9)]
    prompt, kept = build_prompt(gen, "What is fact1-1?", hits)
    assert 0 < len(kept) < len(hits)
    assert kept == hits[: len(kept)]  # rank order, lowest ranked dropped
    assert gen.count_prompt_tokens(prompt) + gen.max_tokens <= gen.n_ctx
    # ...and no more than needed: one more hit would not fit.
    bigger = gen.render(SYSTEM_PROMPT, [("user", user_message("What is fact1-1?", hits[: len(kept) + 1]))])
    assert gen.count_prompt_tokens(bigger) + gen.max_tokens > gen.n_ctx
    assert f"[{len(kept)}] doc{len(kept)}.pdf" in prompt and f"doc{len(kept) + 1}.pdf" not in prompt


def test_history_goes_before_passages(gen: Generator) -> None:
    hits = [hit(1), hit(2)]
    history = [
        ("user", "old question " * 40),
        ("assistant", "old answer " * 40),
        ("user", "recent?"),
        ("assistant", "recent."),
    ]
    full = gen.count_prompt_tokens(build_prompt(gen, "q?", hits, history)[0])
    without_old = gen.count_prompt_tokens(build_prompt(gen, "q?", hits, history[2:])[0])
    model = Budget(gen, n_ctx=without_old + 10, max_tokens=10)
    assert full > model.n_ctx - model.max_tokens
    prompt, kept = build_prompt(model, "q?", hits, history)
    assert kept == hits
    assert "old question" not in prompt and "old answer" not in prompt
    assert "recent?" in prompt


def test_budget_is_exact_with_a_small_window(gen: Generator) -> None:
    hits = [hit(i) for i in range(1, 6)]
    sizes = [gen.count_prompt_tokens(build_prompt(gen, "q?", hits[:k])[0]) for k in range(1, 6)]
    model = Budget(gen, n_ctx=sizes[2] + 50, max_tokens=50)  # exactly three hits fit
    assert build_prompt(model, "q?", hits)[1] == hits[:3]


def test_question_that_cannot_fit_is_a_model_error(gen: Generator) -> None:
    model = Budget(gen, n_ctx=120, max_tokens=100)
    with pytest.raises(ModelError, match="CITEQA_N_CTX"):
        build_prompt(model, "why " * 50, [hit(1)])


def test_echo_stops_match_context_headers() -> None:
    hits = [hit(1), hit(2, page=None)]
    stops = echo_stops(hits)
    context = format_context(hits)
    assert all(s in context for s in stops if s.startswith("["))
    assert "[2] doc2.pdf\n" in stops


def test_evidence_prompt_is_small_numbered_by_passage_and_names_no_file(gen: Generator) -> None:
    from citeqa.answer.prompt import EVIDENCE_SYSTEM_PROMPT, evidence_prompt, quote_stops

    quotes = [(3, "The lake is 47 metres deep.\nIt was measured in 2023."), (1, "Ice-out came on 3 May.")]
    prompt, kept = evidence_prompt(gen, "How deep is the lake?", quotes)
    assert kept == quotes and EVIDENCE_SYSTEM_PROMPT in prompt
    assert "[3] The lake is 47 metres deep. It was measured in 2023." in prompt  # white space folded
    assert prompt.index("[3] The") < prompt.index("[1] Ice") < prompt.index("How deep is the lake?")
    whole = build_prompt(gen, "How deep is the lake?", [hit(1, words=150), hit(2, words=150)])[0]
    assert gen.count_prompt_tokens(prompt) < gen.count_prompt_tokens(whole) / 2
    assert "\n[3] " in quote_stops(quotes)
    small = Budget(gen, n_ctx=gen.count_prompt_tokens(prompt) + 10, max_tokens=20)
    assert evidence_prompt(small, "How deep is the lake?", quotes)[1] == quotes[:1]  # the last quote goes first
