"""Sidebar: new chat, transcript, retrieval and generation settings, active models."""

from __future__ import annotations

import streamlit as st

from citeqa.app.chat import AskOptions, new_chat, transcript_markdown, turns
from citeqa.app.display import Display
from citeqa.app.library import document_picker
from citeqa.app.safe_text import escape_md
from citeqa.core.errors import CiteqaError
from citeqa.core.settings import Settings
from citeqa.core.types import DocumentRecord
from citeqa.engine import Citeqa

DEMO_NOTICE = "Tiny demo model: answers are for trying citeqa out. Set CITEQA_MODEL to a Llama-2-7B-chat GGUF for real use."
_MODES = {
    "hybrid": "Hybrid (meaning + keywords)",
    "dense": "Dense (meaning)",
    "bm25": "BM25 (keywords)",
}
_SOURCES = "citeqa_opt_sources"


def model_name(settings: Settings, engine: Citeqa, problem: str | None) -> str:
    if problem is None:
        try:
            return engine.generator.name
        except CiteqaError:
            pass
    try:
        return settings.resolved_model().name
    except CiteqaError:
        return "(none)"


def options(settings: Settings, docs: list[DocumentRecord], display: Display) -> AskOptions:
    st.subheader("Answering")
    modes = list(_MODES)
    mode = st.selectbox(
        "Retrieval",
        modes,
        index=modes.index(settings.retrieval),
        format_func=_MODES.__getitem__,
        key="citeqa_opt_mode",
    )
    top_k = st.slider(
        "Passages per question (top-k)", 1, max(20, settings.top_k), settings.top_k, key="citeqa_opt_topk"
    )
    temperature = st.slider(
        "Temperature",
        0.0,
        1.5,
        float(min(settings.temperature, 1.5)),
        0.05,
        key="citeqa_opt_temp",
        help="0 answers the same way every time; higher is more varied (and less faithful)",
    )
    paths = [d.path for d in docs]
    sources = document_picker("Only these documents", paths, key=_SOURCES, display=display, placeholder="All documents")
    return AskOptions(mode=mode, top_k=int(top_k), sources=tuple(sources), temperature=float(temperature))


def models(settings: Settings, engine: Citeqa, problem: str | None) -> None:
    st.subheader("Models")
    st.caption(f"Chat: {model_name(settings, engine, problem)}")
    st.caption(f"Embeddings: {engine.embedder.name}")
    if problem:
        st.error("The chat model is not available; see the message in the chat.", icon=":material/warning:")
    elif settings.uses_demo_model:
        st.warning(DEMO_NOTICE, icon=":material/science:")


def index_facts(engine: Citeqa, docs: list[DocumentRecord]) -> None:
    """What `citeqa info` says, so the web app and the command line can be seen to use one index."""
    from citeqa.info import facts, lines

    passages = 0 if engine.index_missing() else engine.store.count_chunks()
    with st.expander("About this index", icon=":material/info:"):
        for line in lines(facts(engine.settings, counts=(len(docs), passages))):
            label, _, value = line.partition(": ")
            st.caption(f"**{label}**: {escape_md(value, single_line=True)}")


def chat_buttons() -> st.delta_generator.DeltaGenerator:
    """New chat button; returns a slot for the transcript button, filled at the end of the run."""
    left, right = st.columns(2)
    if left.button("New chat", icon=":material/add_comment:", key="citeqa_new_chat", width="stretch"):
        new_chat()
    return right.empty()


def transcript_button(slot: st.delta_generator.DeltaGenerator, display: Display) -> None:
    items = turns()
    slot.download_button(
        "Transcript",
        data=transcript_markdown(items, display) if items else "",
        file_name="citeqa-transcript.md",
        mime="text/markdown",
        icon=":material/download:",
        disabled=not items,
        key="citeqa_transcript",
        help="Download this chat as Markdown, with its sources",
        width="stretch",
    )
