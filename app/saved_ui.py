"""The sidebar's saved chats (app.saved): open, rename, delete; the current chat saved each run."""

from __future__ import annotations

import streamlit as st

from citeqa.app import chat
from citeqa.app.safe_text import escape_md
from citeqa.app.saved import ChatStore
from citeqa.engine import Citeqa

_SAVED_AS = "citeqa_saved_signature"


def current_user() -> str | None:
    """The signed-in user's e-mail with Streamlit's [auth] login; None otherwise (one local user)."""
    try:
        if st.user.get("is_logged_in", False):
            return str(st.user.get("email") or st.user.get("sub") or "") or None
    except Exception:  # no login configured at all
        return None
    return None


def store(engine: Citeqa) -> ChatStore:
    return ChatStore(engine.settings.data_dir, current_user(), engine.settings.collection)


def persist(engine: Citeqa) -> None:
    """Save the current chat when it changed (a question asked, an answer completed or stopped)."""
    items = chat.turns()
    if not items:
        return
    cid = chat.chat_id()
    signature = (engine.settings.collection, cid, len(items), sum(t.answer is not None or t.error is not None for t in items))
    if st.session_state.get(_SAVED_AS) == signature:
        return
    store(engine).save(cid, items)
    st.session_state[_SAVED_AS] = signature


def sidebar(engine: Citeqa) -> None:
    chats = store(engine).list()
    if not chats:
        return
    current = chat.chat_id() if chat.turns() else None
    st.caption("**Saved chats**")
    for c in chats[:30]:
        label = ("▸ " if c.id == current else "") + c.title
        if st.button(escape_md(label, single_line=True), key=f"citeqa_chat_{c.id}", type="tertiary",
                     icon=":material/chat:", help=f"{len(c.turns)} question(s)"):  # fmt: skip
            chat.open_chat(c.id, list(c.turns))
            st.rerun()
    chosen = next((c for c in chats if c.id == current), None)
    if chosen is None:
        return
    with st.expander("This chat: rename or delete"):
        title = st.text_input("Title", value=chosen.title, key=f"citeqa_chat_title_{chosen.id}")
        left, right = st.columns(2)
        if left.button("Rename", key="citeqa_chat_rename", icon=":material/edit:"):
            store(engine).rename(chosen.id, title)
            st.rerun()
        if right.button("Delete", key="citeqa_chat_delete", icon=":material/delete:"):
            store(engine).delete(chosen.id)
            chat.new_chat()
            st.rerun()
