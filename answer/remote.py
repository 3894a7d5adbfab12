"""A chat model behind any OpenAI-compatible server: llama.cpp's server, vLLM, Ollama (CITEQA_LLM_URL).

Answers stream from `POST {url}/chat/completions` with `stream: true`; the server applies the
model's chat template to the messages. Prompt tokens are counted by the server's own tokenizer
where it exposes one (llama-cpp-python's `/extras/tokenize`, llama.cpp's and vLLM's `/tokenize`),
else by `estimate.estimate_tokens`, a safe over-estimate.

httpx (with httpx-sse for the event stream) rather than the openai package: the same client calls
the tokenize endpoints, which are outside the OpenAI API; its exceptions tell apart exactly the
failures a user must be told about (no connection, a timeout, a stream cut short); and it makes no
hidden retries, which would hold a waiting user for minutes behind a dead server.

Every failure is a ModelServerError raised from `stream` (see `generator`), naming the setting to
check; nothing here contacts the server before the first count or answer.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import httpx
from httpx_sse import EventSource

from citeqa.answer import openai_http as api
from citeqa.answer.estimate import chat_overhead, estimate_tokens
from citeqa.answer.generator import ChatPrompt, Message, Prompt, check_messages
from citeqa.answer.stops import StopCutter
from citeqa.core.errors import ModelServerError

if TYPE_CHECKING:
    from citeqa.core.settings import Settings

log = logging.getLogger(__name__)

# OpenAI's API takes at most 4 stop sequences; all of them are also applied here, to the streamed text.
_SERVER_STOPS = 4
_CONNECT_S = 10.0
# After a failed tokenize call, estimate for this long: a server that drops packets would hold every count.
_RETRY_TOKENIZE_S = 30.0
# One body for every known tokenize endpoint: llama-cpp-python reads "input", llama.cpp "content",
# vLLM "prompt"; each ignores the others' fields.
_TOKENIZE_PATHS = ("/extras/tokenize", "/tokenize")


class RemoteGenerator:
    """A `Generator` that sends chat messages to an OpenAI-compatible server. Thread-safe: any
    number of answers stream at once (the engine's turn queue bounds them by CITEQA_LLM_CONCURRENCY)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        model: str | None = None,
        n_ctx: int = 4096,
        max_tokens: int = 384,
        temperature: float = 0.1,
        timeout: float = 120.0,
        stop: Sequence[str] = (),
        concurrency: int = 4,
    ) -> None:
        try:
            self.base = api.api_base(url)
        except ValueError as e:
            raise ModelServerError(f"invalid CITEQA_LLM_URL: {e}; use e.g. http://127.0.0.1:8000/v1", "http") from None
        self.url = api.public_url(self.base)  # for messages and logs: never credentials
        self.root = self.base.removesuffix("/v1")  # tokenize endpoints live beside /v1
        self.n_ctx = n_ctx
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.timeout = timeout
        self.stop_sequences = tuple(stop)
        self.chat_format_name = "the server's chat template"
        self._configured_model = model or None
        self._model: str | None = None
        self._served: list[str] = []
        self._has_key = bool(api_key)
        self._resolve_lock = threading.Lock()
        self._tokenize_path: str | bool | None = False  # False: not probed yet; None: the server has none
        self._estimate_until = 0.0
        self._client = httpx.Client(
            headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
            timeout=httpx.Timeout(timeout, connect=min(timeout, _CONNECT_S)),
            limits=httpx.Limits(max_connections=concurrency + 4),
        )
        # Only the server's own counts are kept (lru_cache keeps no exceptions): an estimate made
        # while it was down is not reused once it is back.
        self._server_count_cached = lru_cache(maxsize=2048)(self._server_count_or_raise)

    @classmethod
    def from_settings(cls, settings: Settings) -> RemoteGenerator:
        assert settings.llm_url
        return cls(
            settings.llm_url,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            model=settings.llm_model,
            n_ctx=settings.n_ctx,
            max_tokens=settings.max_tokens,
            temperature=settings.temperature,
            timeout=settings.llm_timeout,
            stop=settings.stop,
            concurrency=settings.llm_concurrency,
        )

    @property
    def name(self) -> str:
        return f"{self._model or self._configured_model or 'default model'} at {self.url}"

    # -- the server's models ------------------------------------------------------------

    def served_models(self) -> list[str]:
        """The model names the server lists (GET /models); raises ModelServerError."""
        with self._guard("list its models"):
            r = self._client.get(f"{self.base}/models")
            self._check(r)
        try:
            data = r.json().get("data") or []
            return [str(m["id"]) for m in data if isinstance(m, dict) and m.get("id")]
        except (ValueError, AttributeError):
            raise ModelServerError(
                f"{api.where(self.url)} did not list its models as the OpenAI API does; set CITEQA_LLM_URL to "
                "its OpenAI API base, e.g. http://127.0.0.1:8000/v1",
                "http",
            ) from None

    def model(self) -> str:
        """The model to ask: CITEQA_LLM_MODEL if the server serves it, else the first it lists.

        Checked against the list because some servers (llama-cpp-python's) answer any name with
        their default model: a typo would silently get another model's answers."""
        with self._resolve_lock:
            if self._model is None:
                served = self.served_models()
                wanted = self._configured_model
                if wanted is None and not served:
                    raise ModelServerError(f"{api.where(self.url)} lists no models; set CITEQA_LLM_MODEL", "model")
                if wanted is not None and served and wanted not in served and f"{wanted}:latest" not in served:
                    raise api.unknown_model(self.url, wanted, served)
                self._model, self._served = wanted or served[0], served
            return self._model

    # -- prompts and tokens -------------------------------------------------------------

    def render(self, system: str, messages: Sequence[Message]) -> ChatPrompt:
        check_messages(messages)
        return ChatPrompt(system, tuple((r, c) for r, c in messages))

    def count_tokens(self, text: str) -> int:
        try:
            return self._server_count_cached(text)
        except _NoCount:
            return estimate_tokens(text)

    def count_prompt_tokens(self, prompt: Prompt) -> int:
        chat = _as_chat(prompt)
        texts = [chat.system, *(c for _, c in chat.messages)]
        return sum(self.count_tokens(t) for t in texts if t) + chat_overhead(chat)

    def _server_count_or_raise(self, text: str) -> int:
        n = self._server_count(text)
        if n is None:
            raise _NoCount
        return n

    def _server_count(self, text: str) -> int | None:
        """Tokens by the server's tokenizer, or None where it has none or the call failed (the
        estimate is used then: counting never fails, so a dead server is reported once, by `stream`)."""
        if self._tokenize_path is None or time.monotonic() < self._estimate_until:
            return None
        body = {"input": text, "content": text, "prompt": text, "add_special": False, "add_special_tokens": False}
        if self._configured_model:
            body["model"] = self._configured_model
        probing = self._tokenize_path is False
        for path in _TOKENIZE_PATHS if probing else (str(self._tokenize_path),):
            try:
                r = self._client.post(f"{self.root}{path}", json=body)
            except httpx.HTTPError as e:
                log.debug("tokenize at %s%s failed: %s", self.url, path, e)
                r = None
            if r is not None and r.status_code in (404, 405) and probing:
                continue  # not this server's endpoint
            n = api.token_count(r) if r is not None and r.status_code == 200 else None
            if n is None:  # down, refusing (401), busy: estimate for a while
                self._estimate_until = time.monotonic() + _RETRY_TOKENIZE_S
                return None
            self._tokenize_path = path
            return n
        log.info("%s has no tokenize endpoint: prompt tokens are estimated", self.url)
        self._tokenize_path = None
        return None

    # -- generation -----------------------------------------------------------------------

    def stream(
        self,
        prompt: Prompt,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: Sequence[str] = (),
    ) -> Iterator[str]:
        stops = list(dict.fromkeys((*self.stop_sequences, *stop)))
        body: dict[str, Any] = {
            "model": self.model(),
            "messages": _as_chat(prompt).to_openai(),
            "stream": True,
            "max_tokens": self.max_tokens if max_tokens is None else max_tokens,
            "temperature": self.temperature if temperature is None else temperature,
        }
        if stops:
            body["stop"] = stops[:_SERVER_STOPS]
        cutter = StopCutter(stops)
        finished = False
        with (
            self._guard("answer", streaming=True),
            self._client.stream("POST", f"{self.base}/chat/completions", json=body) as r,
        ):
            if r.is_error:
                r.read()
                self._check(r)
            for event in EventSource(r).iter_sse():
                if event.data.strip() == "[DONE]":
                    finished = True
                    break
                choice = api.choice(event.data, self.url)
                if choice is None:
                    continue
                text, stopped = cutter.feed((choice.get("delta") or {}).get("content") or "")
                if text:
                    yield text
                if stopped:
                    return  # leaving the block closes the connection: the server stops generating
                finished = finished or bool(choice.get("finish_reason"))
            if not finished:
                raise api.cut(self.url, "the stream ended without its end marker")
        if rest := cutter.flush():
            yield rest

    def complete(self, prompt: Prompt, **kwargs: Any) -> str:
        return "".join(self.stream(prompt, **kwargs))

    def close(self) -> None:
        self._client.close()

    # -- errors ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _guard(self, what: str, *, streaming: bool = False) -> Iterator[None]:
        """httpx's transport errors, each as one ModelServerError."""
        try:
            yield
        except httpx.HTTPError as exc:
            raise api.transport_error(exc, self.url, timeout=self.timeout, what=what, streaming=streaming) from None

    def _check(self, r: httpx.Response) -> None:
        if r.is_error:
            err = api.status_error(r, self.url, has_key=self._has_key)
            raise err or api.unknown_model(self.url, str(self._model or self._configured_model), self._served)


class _NoCount(Exception):
    """The server's tokenizer gave no count: estimate instead."""


def _as_chat(prompt: Prompt) -> ChatPrompt:
    return prompt if isinstance(prompt, ChatPrompt) else ChatPrompt("", (("user", prompt),))
