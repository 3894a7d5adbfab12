"""Asking in the chat: the answer as it is made (the evidence at once, the place in the model's
line while waiting, the model's text as it comes), and stopping it.

Streamlit ends a script run at its next call into Streamlit when the run must stop: the Stop
button below a running answer (a click reruns the script), Streamlit's own Stop, or the browser
going away (Streamlit stops a disconnected session's run). Every event of the stream updates the
page, so that happens within a model token or a wait tick (turns.WAIT_TICK_S); the stream is then
closed, which frees the model for the next question at once, and what was on screen is kept as
the turn's answer, marked as stopped.

Streamlit starts the run that replaces a stopped one at once, beside it (runner.fastReruns), so a
session's runs take its `_answering` lock while they ask, and a new run waits for it (`settle`)
before it draws the conversation: the stopped answer is then in it.

Waiting sessions are served first come, first served by the engine's one line for the model
(`Citeqa.turns`); nothing here holds a lock in front of it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator

import streamlit as st

from citeqa.answer.stream import AnswerStream
from citeqa.app.chat import AskOptions, Turn, evidence_markdown, history, render_answer, turns
from citeqa.app.display import Display
from citeqa.app.safe_text import escape_md
from citeqa.core.errors import CiteqaError
from citeqa.core.events import Draft, Event, EvidenceReady, Waiting
from citeqa.engine import Citeqa

log = logging.getLogger(__name__)

_REFRESH_S = 0.05
_ANSWERING = "citeqa_answering"
SETTLE_S = 30.0  # at most this long for a stopped run to end (it ends at its next token)
STOP_HELP = "Stop this answer: the quotes shown stay as the answer, and the model moves on to the next question"


def _answering() -> threading.Lock:
    """This browser session's lock, held by the run that is answering."""
    return st.session_state.setdefault(_ANSWERING, threading.Lock())


def settle() -> None:
    """Wait until no earlier run of this session is still answering (one stopped by this run ends
    within a model token and records its answer first)."""
    lock = _answering()
    if lock.acquire(timeout=SETTLE_S):
        lock.release()


@contextlib.contextmanager
def _holding(lock: threading.Lock) -> Iterator[None]:
    got = lock.acquire(timeout=SETTLE_S)
    try:
        yield
    finally:
        if got:
            lock.release()


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def waiting_text(position: int) -> str:
    """"Waiting for the model: you are 2nd in line" (1: next in line)."""
    place = "next" if position <= 1 else ordinal(position)
    return f"Waiting for the model: you are {place} in line"


class Live:
    """The answer while it is made: the evidence at once, then the wait or the model's raw text
    under it, and a Stop button while the model is waited for or writes."""

    def __init__(self, out: st.delta_generator.DeltaGenerator, stop: st.delta_generator.DeltaGenerator, key: str, display: Display) -> None:
        self.out = out
        self.stop_slot = stop
        self.key = key
        self.display = display
        self.head = ""
        self.draft = ""
        self.note = ""
        self.position: int | None = None
        self.shown_at = 0.0
        self.stoppable = False
        self.stream: AnswerStream | None = None

    def show(self, force: bool = False) -> None:
        if not force and time.monotonic() - self.shown_at < _REFRESH_S:
            return
        parts = [p for p in (self.head, self.note) if p]
        if self.draft:
            parts.append(":gray[*The model is writing (checked against the quotes when done):*]  \n" + escape_md(self.draft) + " ▌")
        self.out.markdown("\n\n".join(parts) or ":shimmer[Searching your documents…]")
        self.shown_at = time.monotonic()

    def on(self, event: Event) -> None:
        if isinstance(event, EvidenceReady):
            self.head = evidence_markdown(event.evidence, self.display) if event.text else ":shimmer[Checking the closest passages…]"
            self.show(force=True)
            return
        if isinstance(event, Waiting | Draft):
            self._stoppable()
        if isinstance(event, Waiting):
            moved = event.position != self.position
            self.position = event.position
            self.note = ":material/hourglass_top: " + escape_md(waiting_text(event.position))
            self.show(force=moved)
        elif isinstance(event, Draft):
            self.note = ""
            self.draft += event.text
            self.show(force=len(self.draft) == len(event.text))

    def _stoppable(self) -> None:
        if not self.stoppable:
            self.stoppable = True
            # Its click reruns the script, which ends this run at its next update (see the module doc).
            self.stop_slot.button("Stop", key=f"citeqa_stop_{self.key}", icon=":material/stop_circle:", help=STOP_HELP)


def _answer(engine: Citeqa, turn: Turn, options: AskOptions, previous: list[Turn], live: Live) -> None:
    live.out.markdown(":shimmer[Searching your documents…]")
    live.stream = stream = engine.ask_stream(
        turn.question,
        top_k=options.top_k,
        mode=options.mode,
        sources=options.sources,
        history=history(previous),
        temperature=options.temperature,
    )
    try:
        for event in stream.events():
            live.on(event)
    finally:
        stream.close()  # frees the model's turn at once, whatever ended this run
    turn.answer = stream.answer


def ask(engine: Citeqa, question: str, options: AskOptions, display: Display) -> None:
    """Answer `question` in the chat, streaming, and add it to this session's history, also when
    the run is stopped part way (then with what was shown, marked as stopped)."""
    kept = turns()
    previous = list(kept)
    turn = Turn(question, mode=options.mode)
    with st.chat_message("user"):
        st.markdown(escape_md(question))
    with st.chat_message("assistant"), _holding(_answering()):
        out = st.empty()
        stop = st.empty()
        live = Live(out, stop, turn.id, display)
        try:
            _answer(engine, turn, options, previous, live)
        except CiteqaError as exc:
            turn.error = f"{exc}"
        except Exception as exc:  # the UI edge: a message, never a traceback
            log.exception("answering failed")
            turn.error = f"Unexpected error while answering: {type(exc).__name__}: {exc}"
        except BaseException:  # Streamlit ends this run: Stop, a rerun, or the browser gone
            turn.stopped = True
            turn.answer = live.stream.answer if live.stream is not None else None
            # Shown by the next run. Nothing can be drawn in this one, and even reading the session
            # state would raise again: the list in it, taken above, is appended to.
            kept.append(turn)
            raise
        kept.append(turn)
        stop.empty()
        out.empty()
        with out.container():
            if turn.error:
                st.error(escape_md(turn.error))
            else:
                render_answer(turn, display)
