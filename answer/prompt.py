"""What the chat model is asked: a fixed system prompt, numbered passages, the question.

Answers are generated from the evidence (`evidence_prompt`): each evidence sentence with a
sentence on either side, numbered [n] as its passage is among the answer's sources, without file
names or pages (the model cannot copy what it is not shown; sources are named from the passages
only). `build_prompt` with whole passages is what citeqa sent before, kept for the benchmark."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from citeqa.answer.generator import Prompt
from citeqa.core.errors import ModelError
from citeqa.core.types import Hit

NOT_IN_DOCS = "The documents do not contain the answer."

# Kept short and literal: it must steer both Llama-2-7B-chat and a 135M-parameter demo model.
# It never changes, so its tokens stay cached in llama.cpp between questions.
SYSTEM_PROMPT = (
    "You answer questions using only the numbered context passages you are given. "
    "After each claim, cite the passage that supports it as [n], for example [1] or [2][3]. "
    "Never invent facts and do not use outside knowledge. "
    f'If the passages do not contain the answer, reply exactly: "{NOT_IN_DOCS}"'
)
EVIDENCE_SYSTEM_PROMPT = (
    "Answer the question in one or two short sentences, using only the numbered quotes you are given. "
    "End each sentence with the number of the quote that supports it, for example [1]. "
    "Do not use outside knowledge. "
    f'If the quotes do not answer the question, reply exactly: "{NOT_IN_DOCS}"'
)


class PromptModel(Protocol):
    """The part of `Generator` that prompt building needs."""

    n_ctx: int
    max_tokens: int

    def render(self, system: str, messages: Sequence[tuple[str, str]]) -> Prompt: ...

    def count_tokens(self, text: str) -> int: ...

    def count_prompt_tokens(self, prompt: Prompt) -> int: ...


def format_context(hits: Sequence[Hit]) -> str:
    return "\n\n".join(f"[{i}] {h.label()}\n{h.text.strip()}" for i, h in enumerate(hits, 1))


def format_quotes(quotes: Sequence[tuple[int, str]]) -> str:
    return "\n\n".join(f"[{n}] {' '.join(text.split())}" for n, text in quotes)


def evidence_prompt(model: PromptModel, question: str, quotes: Sequence[tuple[int, str]]) -> tuple[Prompt, list[tuple[int, str]]]:
    """The rendered prompt for `quotes` ((passage number, evidence text) in order) and the quotes it
    includes: the last ones go while the prompt plus `model.max_tokens` does not fit `model.n_ctx`."""
    kept = list(quotes)
    while True:
        user = (
            f"Quotes:\n\n{format_quotes(kept)}\n\nQuestion: {question.strip()}\n"
            "Answer in one or two sentences and cite the quotes like [1]."
        )
        prompt = model.render(EVIDENCE_SYSTEM_PROMPT, [("user", user)])
        if model.count_prompt_tokens(prompt) + model.max_tokens <= model.n_ctx or len(kept) <= 1:
            break
        kept.pop()
    if model.count_prompt_tokens(prompt) + model.max_tokens > model.n_ctx:
        raise ModelError(
            f"the question and its evidence need more than n_ctx {model.n_ctx} minus max_tokens "
            f"{model.max_tokens} tokens; raise CITEQA_N_CTX or lower CITEQA_MAX_TOKENS"
        )
    return prompt, kept


def quote_stops(quotes: Sequence[tuple[int, str]]) -> list[str]:
    """Text that only a model repeating its prompt writes: generation stops there."""
    return ["\nQuestion:", "Quotes:", *(f"\n[{n}] " for n, _ in quotes)]


def user_message(question: str, hits: Sequence[Hit]) -> str:
    return (
        f"Context passages:\n\n{format_context(hits)}\n\n"
        f"Question: {question.strip()}\n"
        # "like [1]", not "as [n]": small models copy a literal "[n]".
        "Answer from the passages above and cite them like [1]."
    )


def echo_stops(hits: Sequence[Hit]) -> list[str]:
    """Text that only a model repeating its prompt writes: generation stops there."""
    return ["\nQuestion:", "Context passages:", *(f"[{i}] {h.label()}\n" for i, h in enumerate(hits, 1))]


def build_prompt(
    model: PromptModel,
    question: str,
    hits: Sequence[Hit],
    history: Sequence[tuple[str, str]] = (),
    *,
    system: str = SYSTEM_PROMPT,
) -> tuple[Prompt, list[Hit]]:
    """The rendered prompt and the hits it includes, numbered [1..n] in that order.

    `history` is earlier (role, content) turns. The prompt plus `model.max_tokens` must fit
    `model.n_ctx`: the oldest history turns go first (the question is already standalone,
    so the passages matter more), then the lowest-ranked hits.
    """
    budget = model.n_ctx - model.max_tokens
    kept_hits = list(hits)
    kept_history = list(history)

    def render() -> tuple[Prompt, int]:
        prompt = model.render(system, [*kept_history, ("user", user_message(question, kept_hits))])
        return prompt, model.count_prompt_tokens(prompt)

    prompt, n = render()
    while n > budget and kept_history:
        # Drop a whole exchange so the history still starts with a user turn.
        del kept_history[: 2 if len(kept_history) > 1 and kept_history[1][0] == "assistant" else 1]
        prompt, n = render()
    if n > budget and kept_hits:
        # Jump close to the answer first: re-rendering once per dropped hit is slow for a large top_k.
        # The +4 over-estimates each hit's share (separators), so this never drops one hit too many.
        costs = [model.count_tokens(format_context([h])) + 4 for h in kept_hits]
        excess = n - budget
        while len(kept_hits) > 1 and excess > costs[len(kept_hits) - 1]:
            excess -= costs[len(kept_hits) - 1]
            kept_hits.pop()
        prompt, n = render()
    while n > budget and kept_hits:
        kept_hits.pop()
        prompt, n = render()
    if n > budget:
        raise ModelError(
            f"the question alone needs {n} tokens, more than n_ctx {model.n_ctx} minus max_tokens "
            f"{model.max_tokens}; raise CITEQA_N_CTX or lower CITEQA_MAX_TOKENS"
        )
    return prompt, kept_hits
