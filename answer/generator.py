"""The chat model seam: what answering needs from a generator (`Generator`) and the prompt types.

Two implementations, chosen by the settings (`citeqa.answer.generator_factory.make_generator`) and
invisible above this seam; they import it, it imports neither:

- `citeqa.answer.llm.LocalGenerator`: a GGUF file run in this process by llama-cpp-python
  (CITEQA_MODEL). It renders each prompt to one string with the model's chat template, so that
  llama.cpp sees the same token prefix (the fixed system prompt) every time and reuses its KV cache.
- `citeqa.answer.remote.RemoteGenerator`: any OpenAI-compatible server (CITEQA_LLM_URL: llama.cpp's
  server, vLLM, Ollama), sent the chat messages as they are; the server applies its own template.

A caller hands `render` the system prompt and the (role, content) turns, and passes what it gets
back, unopened, to `count_prompt_tokens` and `stream`/`complete`: a string for the local model, a
`ChatPrompt` for a remote one.

Errors: a generator is built without any I/O that could fail for a remote server, and
`count_tokens`/`count_prompt_tokens` never fail for one (they fall back to a safe estimate). Every
failure to generate is a `ModelError` raised from `stream` (so from `complete` too): before the first
piece (server unreachable, wrong key, unknown model) or between pieces (a timeout, a stream cut
short). Whatever a caller showed before iterating (retrieved evidence) is therefore never lost to a
generation error; pieces already yielded are partial and the error says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

Message = tuple[str, str]  # (role, content); role is "user" or "assistant"


@dataclass(frozen=True)
class ChatPrompt:
    """A prompt as chat messages, for a server that applies the model's chat template itself."""

    system: str
    messages: tuple[Message, ...]

    def to_openai(self) -> list[dict[str, str]]:
        system = [{"role": "system", "content": self.system}] if self.system.strip() else []
        return [*system, *({"role": r, "content": c} for r, c in self.messages)]

    def __str__(self) -> str:
        return "\n\n".join(f"<{m['role']}>\n{m['content']}" for m in self.to_openai())


Prompt = str | ChatPrompt


def check_messages(messages: Sequence[Message]) -> None:
    if not messages or messages[-1][0] != "user":
        raise ValueError("messages must end with a user turn")
    if any(role not in ("user", "assistant") for role, _ in messages):
        raise ValueError("message roles must be 'user' or 'assistant'")


class Generator(Protocol):
    """A chat model, shared by every session of the process (implementations are thread-safe).

    `n_ctx` and `max_tokens` bound the prompt: prompt tokens + max_tokens <= n_ctx.
    """

    name: str
    n_ctx: int
    max_tokens: int

    def render(self, system: str, messages: Sequence[Message]) -> Prompt:
        """The prompt for `system` and (role, content) turns ending with a user turn."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` (never fewer than the model's tokenizer gives)."""
        ...

    def count_prompt_tokens(self, prompt: Prompt) -> int:
        """Tokens the rendered `prompt` occupies in the context before generating."""
        ...

    def stream(
        self,
        prompt: Prompt,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        """Text pieces of the answer as they are generated; stops at any of `stop`. Raises ModelError."""
        ...

    def complete(self, prompt: Prompt, **kwargs: Any) -> str: ...

    def close(self) -> None: ...

