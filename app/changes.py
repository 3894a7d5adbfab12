"""The library's changes (uploads, deletes, re-ingests) on the process's write line.

Every browser session shares one engine, which runs one change at a time. Each session used to
wait for the others' changes in its own script thread, holding its uploaded bytes, with no bound
on how many waited. Now a change takes a place in one line per process (citeqa.core.writeline,
as the HTTP API's): its work runs on the line's thread, this session's script only shows its
progress, and when CITEQA_MAX_INGEST_WAITING changes already wait the change is refused at once
with a message, before the files are even read. Sessions that only read (ask, search, list) never
wait for the line.
"""

from __future__ import annotations

import queue
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

import streamlit as st

from citeqa.core.errors import IngestBusy
from citeqa.core.settings import Settings
from citeqa.core.types import IngestProgress
from citeqa.core.writeline import WriteLine

T = TypeVar("T")

WAITING = "Waiting for another library change to finish…"
_POLL_S = 0.25


@st.cache_resource(show_spinner=False)
def write_line(max_waiting: int) -> WriteLine:
    """The process's one line, shared by every session."""
    return WriteLine(max_waiting)


def busy_message(exc: IngestBusy, line: WriteLine, what: str) -> str:
    """What a session is told when the line is full: what was not done, why, the setting, when to retry."""
    queued = (
        f"{exc.waiting} change(s) already wait behind the one running"
        if exc.waiting
        else "a change is running and no other may wait"
    )
    return (
        f"{what} not done: the library is busy ({queued}; CITEQA_MAX_INGEST_WAITING={line.max_waiting}). "
        f"Try again in about {line.retry_after_s()} s."
    )


def run_change(
    settings: Settings,
    change: Callable[[Callable[[IngestProgress], None]], T],
    on_progress: Callable[[IngestProgress], None] | None = None,
) -> T:
    """Run `change(report)` on the write line and wait for it in this session, showing where it
    is: waiting behind others' changes, then its progress (`report`'s events, passed to
    `on_progress` in this script's thread, where Streamlit elements may be updated). Raises
    IngestBusy when the line is full, or what the change raised."""
    line = write_line(settings.max_ingest_waiting)
    line.take()
    events: queue.SimpleQueue[IngestProgress] = queue.SimpleQueue()
    try:
        future = line.submit(lambda: change(events.put))
    except BaseException:
        line.give_back()
        raise
    return _wait(future, events, on_progress)


def _wait(
    future: Future[T],
    events: queue.SimpleQueue[IngestProgress],
    on_progress: Callable[[IngestProgress], None] | None,
) -> T:
    note = st.empty()
    waited = 0.0
    try:
        while True:
            try:
                result = future.result(timeout=_POLL_S)
            except TimeoutError:
                pass
            else:
                _drain(events, on_progress)
                return result
            _drain(events, on_progress)
            if not future.running():
                waited += _POLL_S
                # Each update also lets Streamlit stop this run if the browser has gone; the change
                # keeps its place and runs all the same (uploads are stored whole or not at all).
                note.info(f"{WAITING} ({waited:.0f} s)", icon=":material/hourglass_top:")
            elif waited:
                waited = 0.0
                note.empty()
    finally:
        note.empty()


def _drain(
    events: queue.SimpleQueue[IngestProgress], on_progress: Callable[[IngestProgress], None] | None
) -> None:
    while True:
        try:
            p = events.get_nowait()
        except queue.Empty:
            return
        if on_progress is not None:
            on_progress(p)
