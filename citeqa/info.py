"""What `citeqa info`, the web app's sidebar and GET /healthz say about this installation: which
index is used, what is in it, which models answer, and where each setting came from.

Cheap on purpose (`citeqa info` answers in well under a second): no model is loaded and neither
pymilvus nor a model runtime is imported. The counts of an embedded index come from its synced
record (see citeqa.retrieval.datadir), which exists exactly while it matches the index; an edge
that has the index open passes its own counts instead.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from citeqa.core import places
from citeqa.core.errors import CiteqaError
from citeqa.core.settings import Settings
from citeqa.retrieval.datadir import EmbeddedDataDir


def settings_sources(settings: Settings, flags: Mapping[str, Any] | None = None) -> dict[str, str]:
    """{setting: where its value came from} for every setting not left at its default, in the
    order pydantic-settings applies them: command-line flag, environment variable, .env file."""
    flags = flags or {}
    env = {k.upper() for k in os.environ}
    dotenv = _dotenv(settings)
    out: dict[str, str] = {}
    for name, field in Settings.model_fields.items():
        var = f"CITEQA_{name.upper()}"
        if flags.get(name) is not None:
            out[name] = "flag --" + name.replace("_", "-")
        elif var in env:
            out[name] = f"env {var}"
        elif var in dotenv:
            out[name] = f".env {var}"
        elif name == "data_dir":
            if settings.data_dir.absolute() == places.user_data_dir():
                out[name] = "default (per-user)"
            elif places.legacy_data_dir() is not None:
                out[name] = "the working directory's .citeqa (the older default)"
            else:
                out[name] = "flag"
        elif getattr(settings, name) != field.get_default(call_default_factory=True):
            # An edge that was handed its settings (a server started with --data-dir) does not
            # know the flags; a value that differs from the default came from one.
            out[name] = "flag"
    return out


def _dotenv(settings: Settings) -> set[str]:
    env_file = settings.model_config.get("env_file")
    if not env_file or not Path(str(env_file)).is_file():
        return set()
    from dotenv import dotenv_values  # pydantic-settings' own .env reader

    return {k.upper() for k in dotenv_values(str(env_file))}


def index_counts(settings: Settings) -> tuple[int | None, int | None]:
    """(documents, passages) of an embedded index without opening it: 0 and 0 when it was never
    made, the synced record's when it is current; None when only opening the index could tell (a
    Milvus server, or an ingest under way or interrupted)."""
    if not settings.embedded:
        return None, None
    if not settings.milvus_path.exists():
        return 0, 0
    synced = EmbeddedDataDir(settings.data_dir, settings.collection).read_synced(settings.embed_model_name())
    if synced is None:
        return None, None
    return len(synced), sum(f.chunks for f in synced.values())


def chat_model(settings: Settings) -> str:
    if settings.llm_url:
        return f"{settings.llm_model or 'the first model served'} at {settings.llm_url}"
    try:
        path = settings.resolved_model()
    except CiteqaError as exc:
        return f"(none: {exc})"
    return f"{path.name} (bundled demo model)" if settings.uses_demo_model else str(path)


def generation(settings: Settings) -> str:
    if settings.generate != "auto":
        return settings.generate
    return "auto: never with the bundled demo model" if settings.uses_demo_model else "auto: always"


def facts(
    settings: Settings,
    flags: Mapping[str, Any] | None = None,
    *,
    counts: tuple[int | None, int | None] | None = None,
) -> dict[str, Any]:
    """Everything `citeqa info --json` prints; `counts` (documents, passages) from an open index,
    else read cheaply from the data dir."""
    documents, passages = counts if counts is not None else index_counts(settings)
    try:
        ver = version("citeqa")
    except PackageNotFoundError:
        ver = "unknown"
    return {
        "version": ver,
        "data_dir": str(settings.data_dir.absolute()),
        "collection": settings.collection,
        "milvus_uri": settings.milvus_uri or str(settings.milvus_path.absolute()),
        "documents": documents,
        "passages": passages,
        "embedding_model": settings.embed_model_name(),
        "chat_model": chat_model(settings),
        "generation": generation(settings),
        "settings_from": settings_sources(settings, flags),
    }


LABELS = {
    "version": "version",
    "data_dir": "data dir",
    "collection": "collection",
    "milvus_uri": "milvus",
    "documents": "documents",
    "passages": "passages",
    "embedding_model": "embedding model",
    "chat_model": "chat model",
    "generation": "generation",
}


def lines(info: Mapping[str, Any]) -> list[str]:
    """`info` as "label: value" lines; unknown counts say how to get them."""
    out = []
    for key, label in LABELS.items():
        value = info[key]
        if value is None and key in ("documents", "passages"):
            value = "unknown without opening the index (run `citeqa stats`)"
        out.append(f"{label}: {value}")
    sources = info["settings_from"]
    out.append("settings from: " + ", ".join(f"{k} ({v})" for k, v in sources.items()))
    return out
