"""Process-wide resources: settings, the one engine and the chat model, shared by every
browser session.

milvus-lite allows one process per data dir and the chat model is large, so the
engine is built once per process (`st.cache_resource`) and shared by every
session; the library's changes wait in one line (citeqa.app.changes). The cache
holds one engine: a different configuration (only ever seen in tests) closes the
old engine, releasing its data dir.
"""

from __future__ import annotations

import contextlib

import streamlit as st

from citeqa.core.errors import CiteqaError
from citeqa.core.settings import Settings
from citeqa.engine import Citeqa


def _settings_key(settings: Settings) -> str:
    return settings.model_dump_json()


def _close(engine: Citeqa) -> None:
    with contextlib.suppress(Exception):
        engine.close()


@st.cache_resource(
    show_spinner="Loading the embedding model and opening the index…", max_entries=1, on_release=_close
)
def _engine(key: str, _settings: Settings) -> Citeqa:
    engine = Citeqa(_settings)
    try:
        engine.open_index()  # served from now on to citeqa commands on the same data dir
    except BaseException:
        engine.close()
        raise
    return engine


def get_engine(settings: Settings) -> Citeqa:
    """The process's engine for `settings` (raises CiteqaError if it cannot open)."""
    return _engine(_settings_key(settings), settings)


@st.cache_resource(show_spinner="Loading the chat model…", max_entries=1)
def _model_problem(key: str, _engine: Citeqa) -> str | None:
    try:
        _engine.generator  # noqa: B018 - loads the model once, here rather than on the first question
    except CiteqaError as exc:
        return str(exc)
    except Exception as exc:  # llama.cpp's own failures: the library must stay usable
        return f"cannot load the chat model: {type(exc).__name__}: {exc}"
    return None


def model_problem(settings: Settings, engine: Citeqa) -> str | None:
    """Why the chat model cannot be used, or None once it is loaded."""
    return _model_problem(_settings_key(settings), engine)
