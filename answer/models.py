"""Known chat models, what is configured (a local GGUF or a server), and fetching one into the data dir."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from citeqa.core import bundled
from citeqa.core.errors import ModelError, ModelServerError
from citeqa.core.files import keep_private
from citeqa.core.settings import Settings


@dataclass(frozen=True)
class KnownModel:
    name: str
    repo: str
    filename: str
    note: str


KNOWN = {
    "llama-2-7b-chat": KnownModel(
        "llama-2-7b-chat",
        "TheBloke/Llama-2-7B-Chat-GGUF",
        "llama-2-7b-chat.Q4_K_M.gguf",
        "Llama 2 7B chat, 4-bit (about 4 GB); the model citeqa's prompts are tuned for",
    ),
}


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: str
    present: bool
    size_bytes: int
    quantization: str
    chat_format: str
    role: str  # "configured", "bundled demo", "downloaded", "known" or "server (configured)"
    # A server's model only: whether the server answered, and what is wrong if it did not or
    # does not serve the model.
    reachable: bool | None = None
    problem: str | None = None

    def to_dict(self) -> dict:
        return self.__dict__.copy()


_QUANT = re.compile(r"\b(Q\d_[A-Z0-9_]+|Q\d_\d|F16|F32|BF16|IQ\d_[A-Z]+)\b", re.IGNORECASE)


def models_dir(settings: Settings) -> Path:
    return settings.data_dir / "models"


def describe(path: Path, role: str) -> ModelInfo:
    present = path.is_file()
    quant = _QUANT.search(path.name)
    fmt = "unknown"
    if present:
        fmt = _chat_format(path)
    return ModelInfo(
        name=path.stem,
        path=str(path),
        present=present,
        size_bytes=path.stat().st_size if present else 0,
        quantization=quant.group(1).upper() if quant else "unknown",
        chat_format=fmt,
        role=role,
    )


def _chat_format(path: Path) -> str:
    """The chat format citeqa would use, read from the GGUF's metadata without loading weights."""
    try:
        import llama_cpp
        from llama_cpp._utils import suppress_stdout_stderr

        from citeqa.answer.llm import is_llama2

        # Even with verbose=False llama.cpp logs context warnings for a vocab-only load.
        with suppress_stdout_stderr(disable=False):
            llm = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
        meta = llm.metadata
        if meta.get("tokenizer.chat_template"):
            return "gguf template"
        return "llama-2" if is_llama2(meta, path) else "none (set CITEQA_CHAT_FORMAT)"
    except Exception:
        return "unreadable"


def list_models(settings: Settings) -> list[ModelInfo]:
    seen: set[str] = set()
    out: list[ModelInfo] = []

    def add(path: Path, role: str) -> None:
        key = str(path.resolve()) if path.exists() else str(path)
        if key not in seen:
            seen.add(key)
            out.append(describe(path, role))

    if settings.llm_url:
        out.append(served_model(settings))
    local = "configured" if not settings.llm_url else "local (CITEQA_LLM_URL is used)"
    if settings.model is not None:
        add(settings.model, local)
    add(bundled.llm_path(), "bundled demo" + (f" ({local})" if settings.model is None else ""))
    for p in sorted(models_dir(settings).glob("*.gguf")):
        add(p, "downloaded")
    for k in KNOWN.values():
        p = models_dir(settings) / k.filename
        if str(p) not in seen and not p.exists():
            out.append(
                ModelInfo(
                    k.name,
                    f"{k.repo}/{k.filename}",
                    False,
                    0,
                    describe(p, "").quantization,
                    "llama-2",
                    f"known: {k.note}",
                )
            )
    return out


def served_model(settings: Settings) -> ModelInfo:
    """The model at CITEQA_LLM_URL, asked of the server now (its address shown without credentials)."""
    from citeqa.answer.remote import RemoteGenerator

    name = settings.llm_model or "(the server's first model)"
    try:
        gen = RemoteGenerator.from_settings(settings)
    except ModelServerError as exc:
        return ModelInfo(name, "", False, 0, "unknown", "unknown", "server (configured)", False, str(exc))
    try:
        name = gen.model()
        reachable, problem = True, None
    except ModelServerError as exc:
        reachable, problem = exc.reason not in ("unreachable", "timeout"), str(exc)
    finally:
        gen.close()
    return ModelInfo(name, gen.url, reachable and problem is None, 0, "unknown", gen.chat_format_name,
                     "server (configured)", reachable, problem)  # fmt: skip


def pull(settings: Settings, name: str) -> Path:
    """Download a known model into the data dir; offline this fails with one line."""
    if name not in KNOWN:
        raise ModelError(f"unknown model {name!r}; known: {', '.join(KNOWN)}")
    k = KNOWN[name]
    target = models_dir(settings)
    keep_private()  # the data dir it may create is its owner's alone, like every data dir
    target.mkdir(parents=True, exist_ok=True)
    try:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(repo_id=k.repo, filename=k.filename, local_dir=str(target))
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(
            f"could not download {k.repo}/{k.filename} (no network access to the model hub?): {reason[:200]}. "
            f"Download it by hand and set CITEQA_MODEL to its path"
        ) from None
    return Path(path)
