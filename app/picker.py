"""The collection picker (sidebar) and the library's create / delete of collections.

The process has one engine (state.get_engine); every collection of its data dir is a view of it
(Citeqa.collection), so switching loads no model. What a session shows follows its pick: the
library, the example questions, and the chats (chat.turns is kept per collection).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import streamlit as st

from citeqa.app.safe_text import escape_md
from citeqa.core.errors import CiteqaError
from citeqa.core.syncstate import read_sync
from citeqa.engine import Citeqa

KEY = "citeqa_collection"
_SWITCH_TO = "citeqa_collection_next"  # a widget's key cannot be set once it is drawn: next run
_NOTICE = "citeqa_collection_notice"


def current() -> str | None:
    return st.session_state.get(KEY)


def choices(engine: Citeqa) -> list[str]:
    default = engine.settings.collection
    return [default, *(n for n in engine.collection_names() if n != default)]


def pick(engine: Citeqa) -> Citeqa:
    """The sidebar's collection select box; the engine of the chosen collection."""
    names = choices(engine)
    if (target := st.session_state.pop(_SWITCH_TO, None)) in names:
        st.session_state[KEY] = target
    if st.session_state.get(KEY) not in names:
        st.session_state[KEY] = names[0]
    name = st.selectbox(
        "Collection",
        names,
        key=KEY,
        help="Which body of documents to chat with; create or delete collections in the Library tab.",
    )
    return engine.collection(name)


def manage(engine: Citeqa, root: Citeqa) -> None:
    """The shown collection's last sync (an ingest, an upload, `citeqa watch`) and its failures;
    create a collection, or delete the one shown (not the app's own: CITEQA_COLLECTION)."""
    if notice := st.session_state.pop(_NOTICE, None):
        st.success(escape_md(notice), icon=":material/check:")
    synced = read_sync(engine.settings.data_dir, engine.settings.collection)
    if synced.last_sync is not None:
        when = datetime.fromtimestamp(synced.last_sync).strftime("%Y-%m-%d %H:%M")
        st.caption(escape_md(f"{engine.settings.collection}: last sync {when}, {len(synced.failed)} failed", single_line=True))
    for path, error in synced.failed[:20]:  # the file's name only: the server's folders are its own
        st.caption(escape_md(f"failed: {Path(path).name}: {error}", single_line=True))
    with st.form("citeqa_new_collection", clear_on_submit=True, border=False):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        name = left.text_input("New collection", placeholder="e.g. client_a", key="citeqa_new_collection_name")
        if right.form_submit_button("Create", icon=":material/create_new_folder:"):
            try:
                root.create_collection(name.strip())
            except CiteqaError as exc:
                st.error(escape_md(str(exc)), icon=":material/error:")
            else:
                st.session_state[_NOTICE] = f"Created collection {name.strip()}."
                st.session_state[_SWITCH_TO] = name.strip()
                st.rerun()
    shown = engine.settings.collection
    if shown == root.settings.collection:
        st.caption(escape_md(f"{shown} is this app's own collection (CITEQA_COLLECTION): it cannot be deleted here."))
        return
    sure = st.checkbox(f"Delete collection {shown}, its index and the files uploaded to it", key="citeqa_delete_sure")
    if st.button("Delete collection", icon=":material/delete:", disabled=not sure, key="citeqa_delete_collection"):
        try:
            root.delete_collection(shown)
        except CiteqaError as exc:
            st.error(escape_md(str(exc)), icon=":material/error:")
            return
        st.session_state[_NOTICE] = f"Deleted collection {shown}."
        st.session_state[_SWITCH_TO] = root.settings.collection
        st.session_state.pop("citeqa_delete_sure", None)
        st.rerun()
