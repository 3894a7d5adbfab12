"""The local chat model: a GGUF file run by llama-cpp-python, rendered and streamed as plain text prompts.

Prompts are rendered to one string here (rather than using create_chat_completion) so
that llama.cpp sees the same token prefix for every question — the fixed system prompt
comes first — and reuses its KV cache for it instead of evaluating it again.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import llama_cpp
from llama_cpp import llama_chat_format

from citeqa.answer.generator import Message, check_messages
from citeqa.core.errors import ConfigError, ModelError

if TYPE_CHECKING:
    from citeqa.core.settings import Settings

_FIX = "set CITEQA_MODEL to a GGUF chat model file"
# "LLaMA v2" is how older (TheBloke) conversions name Llama 2 in general.name.
_LLAMA2 = re.compile(r"llama[\s_-]*v?2(?![\d.])", re.IGNORECASE)
# Formats llama-cpp-python only ships as jinja templates; everything else is looked up as format_<name>.
_KNOWN_TEMPLATES = {
    "chatml": llama_chat_format.CHATML_CHAT_TEMPLATE,
    "mistral-instruct": llama_chat_format.MISTRAL_INSTRUCT_CHAT_TEMPLATE,
    "llama-3": llama_chat_format.LLAMA3_INSTRUCT_CHAT_TEMPLATE,
}


class _Llama(llama_cpp.Llama):
    """Llama that records how many tokens the first eval of a completion decodes.

    `Llama.generate` drops the prefix shared with the previous prompt from the KV cache's
    point of view and calls `eval` once with only the remaining prompt tokens, so the size
    of that first call is exactly the number of prompt tokens evaluated.
    """

    prompt_eval_tokens: int | None = None

    def eval(self, tokens: Sequence[int]) -> None:
        if self.prompt_eval_tokens is None:
            self.prompt_eval_tokens = len(tokens)
        super().eval(tokens)


def llama2_prompt(system: str, messages: Sequence[Message]) -> str:
    """Llama 2 chat format: `[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n{user} [/INST] {answer} </s><s>[INST] ...`.

    The leading <s> is left out because the tokenizer adds BOS itself.
    """
    out: list[str] = []
    first = True
    for role, content in messages:
        text = content.strip()
        if role == "assistant":
            out.append(f" {text} </s>")
            continue
        if first and system.strip():
            text = f"<<SYS>>\n{system.strip()}\n<</SYS>>\n\n{text}"
        out.append(f"{'' if first else '<s>'}[INST] {text} [/INST]")
        first = False
    return "".join(out)


def is_llama2(metadata: dict[str, str], path: Path) -> bool:
    if _LLAMA2.search(metadata.get("general.name", "")):
        return True
    return metadata.get("general.architecture") == "llama" and bool(_LLAMA2.search(path.name))


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise ModelError(f"chat model {path} not found; {_FIX}")
    try:
        with path.open("rb") as f:
            magic = f.read(4)
    except OSError as e:
        raise ModelError(f"cannot read chat model {path} ({e.strerror}); {_FIX}") from e
    if magic != b"GGUF":
        raise ModelError(f"{path} is not a GGUF file; {_FIX}")


class LocalGenerator:
    """One loaded GGUF chat model, shared by every session of the process (a `Generator`).

    All model use goes through `self.lock`, because a llama.cpp context is not thread-safe.

    `last_prompt_eval_tokens` is how many prompt tokens the last `stream` really evaluated:
    its prompt length minus the prefix llama.cpp found already in its KV cache from the
    previous completion. It is the length of the first `Llama.eval` call of the completion
    (see `_Llama`); None before any completion.
    """

    def __init__(
        self,
        model_path: Path,
        *,
        n_ctx: int,
        n_threads: int,
        n_gpu_layers: int | None,
        chat_format: str | None = None,
        temperature: float = 0.1,
        max_tokens: int = 384,
        stop: Sequence[str] = (),
        repeat_penalty: float = 1.1,
    ) -> None:
        path = Path(model_path).expanduser()
        _check_file(path)
        if n_gpu_layers is None:
            n_gpu_layers = -1 if llama_cpp.llama_supports_gpu_offload() else 0
        try:
            self._llm = _Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_gpu_layers=n_gpu_layers,
                verbose=False,
            )
        except Exception as e:  # llama.cpp reports every load failure as a bare ValueError/RuntimeError
            raise ModelError(f"cannot load chat model {path} ({e}); {_FIX}") from e

        self.path = path
        self.name = path.name
        self.n_ctx: int = self._llm.n_ctx()
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.repeat_penalty = repeat_penalty
        self.lock = threading.Lock()
        self.last_prompt_eval_tokens: int | None = None

        model = self._llm._model
        self._bos = model.token_get_text(self._llm.token_bos()) if self._llm.token_bos() != -1 else ""
        self._eos = model.token_get_text(self._llm.token_eos()) if self._llm.token_eos() != -1 else ""
        self._adds_bos = bool(model.add_bos_token()) and self._llm.token_bos() != -1
        self.chat_format_name, self._render, template_stop = self._pick_format(chat_format)
        stops = [s for s in (self._eos, *template_stop, "</s>", "<|im_end|>", *stop) if s]
        self.stop_sequences: tuple[str, ...] = tuple(dict.fromkeys(stops))

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalGenerator:
        return cls(
            settings.resolved_model(),
            n_ctx=settings.n_ctx,
            n_threads=settings.resolved_threads(),
            n_gpu_layers=settings.n_gpu_layers,
            chat_format=settings.chat_format,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            stop=settings.stop,
        )

    # -- formats -----------------------------------------------------------------

    def _pick_format(self, chat_format: str | None) -> tuple[str, Callable[[list[dict]], str], list[str]]:
        metadata: dict[str, str] = self._llm.metadata
        if chat_format in (None, "", "auto", "gguf-template"):
            template = metadata.get("tokenizer.chat_template")
            if template:
                return "gguf-template", self._jinja(template), []
            if chat_format == "gguf-template":
                raise ConfigError(
                    f"{self.name} has no chat template; set CITEQA_CHAT_FORMAT (e.g. llama-2, chatml)"
                )
            if is_llama2(metadata, self.path):
                chat_format = "llama-2"
            else:
                raise ConfigError(
                    f"{self.name} has no chat template and is not a Llama 2 model; "
                    "set CITEQA_CHAT_FORMAT (e.g. chatml, llama-2, mistral-instruct)"
                )
        if chat_format == "llama-2":
            return "llama-2", _render_llama2, ["[INST]"]
        if chat_format in _KNOWN_TEMPLATES:
            return chat_format, self._jinja(_KNOWN_TEMPLATES[chat_format]), []
        formatter = getattr(
            llama_chat_format, "format_" + chat_format.replace("-", "_").replace(".", "_"), None
        )
        if not callable(formatter):
            raise ConfigError(
                f"unknown chat format {chat_format!r}; use llama-2, chatml, llama-3, mistral-instruct or a llama-cpp-python format name"
            )
        return chat_format, lambda msgs: formatter(messages=msgs).prompt, []

    def _jinja(self, template: str) -> Callable[[list[dict]], str]:
        formatter = llama_chat_format.Jinja2ChatFormatter(
            template=template, eos_token=self._eos, bos_token=self._bos, add_generation_prompt=True
        )
        return lambda msgs: formatter(messages=msgs).prompt

    # -- prompts -----------------------------------------------------------------

    def render(self, system: str, messages: Sequence[Message]) -> str:
        """The full prompt for `system` and (role, content) turns ending with a user turn."""
        check_messages(messages)
        msgs = [{"role": r, "content": c} for r, c in messages]
        try:
            prompt = self._render([{"role": "system", "content": system}, *msgs])
        except (jinja2.TemplateError, ValueError):
            # Some templates (Mistral, Gemma) reject a system role: put it in the first user turn.
            msgs[0] = {"role": msgs[0]["role"], "content": f"{system}\n\n{msgs[0]['content']}"}
            prompt = self._render(msgs)
        if self._adds_bos and self._bos and prompt.startswith(self._bos):
            # Templates that spell out BOS would give a double BOS, as llama.cpp adds its own.
            prompt = prompt[len(self._bos) :]
        return prompt

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` with the model's tokenizer, special tokens parsed, no BOS."""
        with self.lock:
            return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def count_prompt_tokens(self, prompt: str) -> int:
        """Tokens a completion of `prompt` occupies before generating: `count_tokens` plus BOS."""
        return self.count_tokens(prompt) + (1 if self._adds_bos else 0)

    # -- generation ----------------------------------------------------------------

    def stream(
        self,
        prompt: str,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        """Text pieces of the completion of `prompt`, as they are generated; `stop` adds to `stop_sequences`.

        Holds `self.lock` from the first piece until the iterator is exhausted or closed.
        """
        with self.lock:
            self._llm.prompt_eval_tokens = None
            chunks: Any = None
            try:
                chunks = self._llm.create_completion(
                    prompt,
                    stream=True,
                    max_tokens=self.max_tokens if max_tokens is None else max_tokens,
                    temperature=self.temperature if temperature is None else temperature,
                    repeat_penalty=self.repeat_penalty,
                    stop=list(dict.fromkeys((*self.stop_sequences, *stop))),
                )
                for chunk in chunks:
                    text = chunk["choices"][0]["text"]
                    if text:
                        yield text
            except ValueError as e:  # the prompt does not fit n_ctx
                raise ModelError(f"{e}; raise CITEQA_N_CTX or ask with fewer passages") from e
            finally:
                if chunks is not None:
                    chunks.close()
                self.last_prompt_eval_tokens = self._llm.prompt_eval_tokens

    def complete(self, prompt: str, **kwargs: Any) -> str:
        return "".join(self.stream(prompt, **kwargs))

    def close(self) -> None:
        with self.lock:
            self._llm.close()


def _render_llama2(msgs: list[dict]) -> str:
    system = "".join(m["content"] for m in msgs if m["role"] == "system")
    return llama2_prompt(system, [(m["role"], m["content"]) for m in msgs if m["role"] != "system"])
