"""The web app runs `citeqa watch` for a collection (citeqa.ingest.watch), in a thread of its own
process, so that watching needs no second command (a separate `citeqa watch` works too: it uses
the index the app serves, citeqa.retrieval.shared).

Only folders the machine's owner chose are watched: those `citeqa watch DIR --collection NAME`
remembered (`<collection>.watch.txt`). The page offers no folder path of its own: a visitor of a
shared app must not be able to index any folder the server can read.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from citeqa.app.safe_text import escape_md
from citeqa.core.records import read_lines
from citeqa.core.types import IngestReport
from citeqa.engine import Citeqa

log = logging.getLogger("citeqa.app")


@dataclass
class Running:
    folders: list[Path]
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    last: IngestReport | None = None


def _stop_all(running: dict[str, Running]) -> None:
    for r in running.values():
        r.stop.set()


@st.cache_resource(show_spinner=False, on_release=_stop_all)
def _running() -> dict[str, Running]:
    return {}


def remembered(engine: Citeqa) -> list[Path]:
    s = engine.settings
    return [Path(p) for p in read_lines(s.data_dir / f"{s.collection}.watch.txt") if Path(p).is_dir()]


def start(engine: Citeqa, folders: list[Path]) -> Running:
    from citeqa.ingest.loaders import SUPPORTED_SUFFIXES
    from citeqa.ingest.watch import watch

    run = Running(folders)
    suffixes = tuple(SUPPORTED_SUFFIXES)

    def told(report: IngestReport) -> None:
        run.last = report

    def body() -> None:
        try:
            watch(lambda: engine.ingest(folders, prune=True), folders, stop=run.stop, on_sync=told,
                  relevant=lambda p: p.lower().endswith(suffixes))  # fmt: skip
        except Exception:  # the page shows it stopped; the log says why
            log.exception("watching %s stopped", ", ".join(map(str, folders)))

    run.thread = threading.Thread(target=body, name=f"citeqa-watch-{engine.settings.collection}", daemon=True)
    run.thread.start()
    return run


def section(engine: Citeqa) -> None:
    """Start or stop watching the collection's remembered folders; the last sync shows above."""
    name = engine.settings.collection
    folders = remembered(engine)
    running = _running()
    current = running.get(name)
    alive = current is not None and current.thread is not None and current.thread.is_alive()
    if not folders and not alive:
        st.caption(escape_md(f"No watched folders: `citeqa watch DIR --collection {name}` on this machine adds one."))
        return
    shown = ", ".join(p.name for p in (current.folders if alive and current else folders))
    if alive and current is not None:
        st.caption(escape_md(f"Watching {shown}: changes there are synced within seconds.", single_line=True))
        if st.button("Stop watching", icon=":material/visibility_off:", key=f"citeqa_unwatch_{name}"):
            current.stop.set()
            running.pop(name, None)
            st.rerun()
        return
    if st.button(f"Watch {shown}", icon=":material/visibility:", key=f"citeqa_watch_{name}",
                 help="Keep this collection in sync with the folders `citeqa watch` remembered for it"):  # fmt: skip
        running[name] = start(engine, folders)
        st.rerun()
