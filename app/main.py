"""citeqa's web chat: `citeqa app` (or `streamlit run app/main.py`).

It listens on 127.0.0.1 by default (.streamlit/config.toml, `citeqa app`); on any other address it
shows nothing but a login (CITEQA_APP_PASSWORD) or, without one, a refusal (see auth.py).

Settings come from CITEQA_* environment variables and .env, read here at the edge
and passed down. Every citeqa error ends as a message on the page, never a traceback.
"""

from __future__ import annotations

import logging

import streamlit as st

from citeqa.app import auth, chat, examples, library, live, picker, saved_ui, sidebar, watcher
from citeqa.app.display import Display, display_names
from citeqa.app.safe_text import escape_md
from citeqa.app.state import get_engine, model_problem
from citeqa.core.errors import (
    CiteqaError,
    ConfigError,
    DataDirInUse,
    ModelError,
    ModelServerError,
    StoreError,
)
from citeqa.core.settings import Settings
from citeqa.core.types import DocumentRecord
from citeqa.engine import Citeqa

log = logging.getLogger("citeqa.app")


def remedy(exc: CiteqaError, settings: Settings | None) -> str:
    """What the user can do about `exc`, in a sentence."""
    if isinstance(exc, DataDirInUse):
        return "Stop the other process (e.g. a running `citeqa` command) and reload this page."
    if isinstance(exc, StoreError):
        if settings is not None and settings.milvus_uri:
            return "Check that the Milvus server at CITEQA_MILVUS_URI is running and reachable, or unset it to use the embedded store."
        return "Check that CITEQA_DATA_DIR is writable, then reload this page."
    if isinstance(exc, ModelServerError):
        return "Check the chat model server (CITEQA_LLM_URL, CITEQA_LLM_API_KEY, CITEQA_LLM_MODEL), then ask again."
    if isinstance(exc, ModelError):
        return "Check CITEQA_MODEL / CITEQA_EMBED_MODEL, then restart the app."
    if isinstance(exc, ConfigError):
        return "Fix the setting (environment or .env), then restart the app."
    return "Reload the page; if it persists, check the app's log."


def fatal(title: str, exc: BaseException, settings: Settings | None) -> None:
    detail = str(exc) if isinstance(exc, CiteqaError) else f"{type(exc).__name__}: {exc}"
    hint = remedy(exc, settings) if isinstance(exc, CiteqaError) else "Check the app's log for details."
    st.error(f"**{title}**  \n{escape_md(detail)}  \n{escape_md(hint)}", icon=":material/error:")
    st.button("Retry", key="citeqa_retry")


_PENDING = "citeqa_pending_question"


def _pick(question: str) -> None:
    st.session_state[_PENDING] = question


def example_buttons(engine: Citeqa, docs: list[DocumentRecord], display: Display, options: chat.AskOptions) -> None:
    """A few questions the documents answer, for a chat that has none yet; a click asks one."""
    found = [e for e in examples.examples(engine, docs, dict(display.names)) if not options.sources or e.source in options.sources]
    if not found:
        return
    st.markdown("**Try asking:**")
    for i, e in enumerate(found):
        st.button(
            escape_md(e.question, single_line=True),
            key=f"citeqa_example_{i}",
            on_click=_pick,
            args=(e.question,),
            icon=":material/help:",
            type="tertiary",
            help=escape_md(f"Answered from {display.path(e.source)}", single_line=True),
        )


def chat_panel(
    engine: Citeqa, options: chat.AskOptions, problem: str | None, docs: list[DocumentRecord], display: Display
) -> None:
    if problem:
        setting = "CITEQA_LLM_URL" if engine.settings.llm_url else "CITEQA_MODEL"
        st.error(
            f"**The chat model cannot be loaded.**  \n{escape_md(problem)}  \n"
            f"Fix {setting} and restart the app; the library still works.",
            icon=":material/error:",
        )
    elif not docs:
        where = escape_md(str(engine.settings.data_dir.absolute()), single_line=True)
        st.info(
            f"No documents are indexed in {where} (collection {escape_md(engine.settings.collection)}): "
            "add some in the **Library** tab, or with `citeqa ingest PATH`, then ask a question.",
            icon=":material/library_books:",
        )
    history = st.container()
    question = st.chat_input(
        "Ask a question about your documents", disabled=problem is not None, key="citeqa_question"
    )
    picked = st.session_state.pop(_PENDING, None)
    question = (question or "").strip() or (picked if problem is None else None)
    live.settle()  # a run this one replaced may still be recording its stopped answer
    with history:
        # First in place, so that the run that asks an example clears the examples at once.
        offer = st.empty()
        for turn in chat.turns():
            chat.render_turn(turn, display)
        if question:
            live.ask(engine, question, options, display)
        elif docs and problem is None and not chat.turns():
            with offer.container():
                example_buttons(engine, docs, display, options)


def run(settings: Settings) -> None:
    try:
        engine = get_engine(settings)
    except CiteqaError as exc:
        fatal("citeqa cannot open its index.", exc, settings)
        return
    except Exception as exc:
        log.exception("engine start failed")
        fatal("citeqa failed to start.", exc, settings)
        return
    problem = model_problem(settings, engine)
    root = engine
    with st.sidebar:
        engine = picker.pick(root)  # the chosen collection: a view of the one engine, no model loaded
    settings = engine.settings
    docs = engine.documents()
    names = display_names([d.path for d in docs], engine.ingested_roots(), settings.uploads_dir)
    display = Display(names, reranked=bool(settings.reranker), page_pixels=settings.max_page_pixels)

    with st.sidebar:
        st.title("citeqa")
        st.caption("Answers from your documents, cited down to the page.")
        if engine.privacy_warning:
            st.warning(escape_md(engine.privacy_warning), icon=":material/lock_open:")
        auth.logout_button(settings)
        transcript_slot = sidebar.chat_buttons()
        saved_slot = st.container()
        options = sidebar.options(settings, docs, display)
        sidebar.models(settings, engine, problem)
        sidebar.index_facts(engine, docs)

    chat_tab, library_tab = st.tabs([":material/forum: Chat", ":material/library_books: Library"])
    with chat_tab:
        chat_panel(engine, options, problem, docs, display)
    with library_tab:
        library.render(engine, settings, docs, display)
        st.subheader("Collections")
        picker.manage(engine, root)
        watcher.section(engine)
    sidebar.transcript_button(transcript_slot, display)
    saved_ui.persist(engine)  # after the answer: a restart finds the chat as it was shown
    with saved_slot:
        saved_ui.sidebar(engine)


def main() -> None:
    st.set_page_config(page_title="citeqa", page_icon="📚", layout="wide")
    settings: Settings | None = None
    settings_error: CiteqaError | None = None
    try:
        settings = Settings.load()
    except CiteqaError as exc:
        settings_error = exc
    # Before anything else renders: on a network address, nothing without a login (see auth).
    if not auth.admitted(settings):
        return
    try:
        if settings_error is not None:
            raise settings_error
        assert settings is not None
        run(settings)
    except CiteqaError as exc:
        fatal("citeqa hit a problem.", exc, settings)
    except Exception as exc:  # the UI edge: a message, never a traceback
        log.exception("unexpected error")
        fatal("Unexpected error.", exc, settings)


main()
