"""The OpenAI chat API over HTTP, as `remote.RemoteGenerator` speaks it: URLs, streamed chunks,
token-count replies, and one clear ModelServerError for each way a server can fail."""

from __future__ import annotations

import json

import httpx

from citeqa.core.errors import ModelServerError


def public_url(url: str) -> str:
    """`url` without credentials, query or fragment: safe to show and log."""
    u = httpx.URL(url)
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{u.host}{port}{u.path}".rstrip("/")


def api_base(url: str) -> str:
    """The OpenAI API base: `url` without query, or with /v1 when it has no path."""
    try:
        u = httpx.URL(url.strip())
    except httpx.InvalidURL as e:
        raise ValueError(f"{url!r} is not a URL ({e})") from None
    if u.scheme not in ("http", "https") or not u.host:
        raise ValueError(f"{public_url(url) if u.host else url!r} is not an http(s) URL")
    u = u.copy_with(query=None, fragment=None)  # endpoint paths are appended to it
    return str(u.copy_with(path="/v1")) if u.path in ("", "/") else str(u).rstrip("/")


def where(url: str) -> str:
    return f"the chat model server at {url} (CITEQA_LLM_URL)"


def transport_error(exc: httpx.HTTPError, url: str, *, timeout: float, what: str, streaming: bool) -> ModelServerError:
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return ModelServerError(
            f"cannot reach {where(url)}: {reason(exc)}; start it, or fix CITEQA_LLM_URL "
            "(unset it to use the local model, CITEQA_MODEL)",
            "unreachable",
        )
    if isinstance(exc, httpx.TimeoutException):
        return ModelServerError(
            f"{where(url)} sent nothing for {timeout:g} s when asked to {what}; check that it is running, "
            "or raise CITEQA_LLM_TIMEOUT",
            "timeout",
        )
    if streaming and isinstance(exc, httpx.TransportError):
        return cut(url, reason(exc))
    return ModelServerError(f"{where(url)} failed: {reason(exc)}", "http")


def status_error(r: httpx.Response, url: str, *, has_key: bool) -> ModelServerError | None:
    """The error an HTTP error status means (None for 404 on chat completions: an unknown model,
    which the caller words with the server's model list)."""
    detail = error_detail(r)
    if r.status_code in (401, 403):
        fix = "set CITEQA_LLM_API_KEY to a key it accepts" if has_key else "it needs an API key: set CITEQA_LLM_API_KEY"
        return ModelServerError(f"{where(url)} refused the request (HTTP {r.status_code}: {detail}); {fix}", "auth")
    if r.status_code == 404 and r.request.url.path.endswith("/chat/completions"):
        return None
    if r.status_code == 404:
        return ModelServerError(
            f"{where(url)} has no OpenAI API at {r.request.url.path} (HTTP 404); set CITEQA_LLM_URL to its API "
            "base, e.g. http://127.0.0.1:8000/v1",
            "http",
        )
    hint = "lower CITEQA_LLM_CONCURRENCY or ask again shortly" if r.status_code in (429, 503) else "check the server's log"
    if "context" in detail.lower() or "too long" in detail.lower():
        hint = "set CITEQA_N_CTX to the server's context size or less"
    return ModelServerError(f"{where(url)} answered HTTP {r.status_code}: {detail}; {hint}", "http")


def unknown_model(url: str, wanted: str, served: list[str]) -> ModelServerError:
    listing = f" (it serves: {', '.join(served[:8])})" if served else ""
    return ModelServerError(
        f"{where(url)} does not serve model {wanted!r}{listing}; set CITEQA_LLM_MODEL to one of its models", "model"
    )


def cut(url: str, why: str) -> ModelServerError:
    return ModelServerError(
        f"{where(url)} stopped in the middle of the answer ({why}); the answer is incomplete: check the "
        "server, then ask again",
        "cut",
    )


def choice(data: str, url: str) -> dict | None:
    """The first choice of one streamed chunk; a chunk carrying an error raises it."""
    try:
        chunk = json.loads(data)
    except ValueError:
        raise cut(url, f"it sent something other than JSON: {data[:80]!r}") from None
    if isinstance(chunk, dict) and chunk.get("error"):
        err = chunk["error"]
        message = err.get("message", err) if isinstance(err, dict) else err
        raise ModelServerError(f"{where(url)} failed while answering: {message}", "http")
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    return choices[0] if choices and isinstance(choices[0], dict) else None


def token_count(r: httpx.Response) -> int | None:
    """The count in a tokenize reply: {"tokens": [...]} (llama.cpp, llama-cpp-python) or {"count": n} (vLLM)."""
    try:
        data = r.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("tokens"), list):
        return len(data["tokens"])
    return data["count"] if isinstance(data.get("count"), int) else None


def error_detail(r: httpx.Response) -> str:
    try:
        data = r.json()
    except ValueError:
        return (r.text.strip() or r.reason_phrase)[:200]
    err = (data.get("error") or data.get("detail") or data.get("message")) if isinstance(data, dict) else None
    if isinstance(err, dict):
        err = err.get("message")
    return str(err or r.reason_phrase)[:200]


def reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
