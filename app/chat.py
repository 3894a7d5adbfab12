"""The chat: per-session history, streamed answers, cited sources, the transcript."""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import streamlit as st

from citeqa.answer.citations import MARKER
from citeqa.app.safe_text import escape_md
from citeqa.app.sources import score_text, show_citation, show_passage
from citeqa.app.state import holding, model_turn
from citeqa.core.errors import CiteqaError
from citeqa.core.settings import RetrievalMode
from citeqa.core.types import Answer, Sentence
from citeqa.engine import Citeqa

log = logging.getLogger(__name__)

_TURNS = "citeqa_turns"
WAITING = "Waiting for the model… another question is being answered"
_REFRESH_S = 0.05


@dataclass(frozen=True)
class AskOptions:
    mode: RetrievalMode
    top_k: int
    sources: tuple[str, ...] = ()
    temperature: float | None = None


@dataclass
class Turn:
    question: str
    answer: Answer | None = None
    error: str | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])


def turns() -> list[Turn]:
    return st.session_state.setdefault(_TURNS, [])


def new_chat() -> None:
    st.session_state[_TURNS] = []


def history(previous: list[Turn]) -> list[tuple[str, str]]:
    """Earlier exchanges as (role, content) turns, for follow-up questions.

    Markers are dropped: their numbers refer to that answer's passages, not the next one's.
    """
    out: list[tuple[str, str]] = []
    for t in previous:
        if t.answer is None:
            continue
        out += [("user", t.question), ("assistant", MARKER.sub("", t.answer.text).strip())]
    return out


# -- rendering ----------------------------------------------------------------


def _marked(text: str) -> str:
    """Escaped text with [n] markers as badges."""
    parts: list[str] = []
    pos = 0
    for m in MARKER.finditer(text):
        parts.append(escape_md(text[pos : m.start()]))
        inner = re.sub(r"\s+", " ", m.group(0)[1:-1].strip())
        parts.append(f":blue-badge[{escape_md(inner, single_line=True)}]")
        pos = m.end()
    parts.append(escape_md(text[pos:]))
    return "".join(parts)


def _sentence(s: Sentence) -> str:
    body = _marked(s.text)
    return body if s.supported else f"{body} :orange-badge[⚠ unsupported]"


def answer_markdown(answer: Answer) -> str:
    """The answer with citation badges and unsupported sentences flagged; all text escaped."""
    text = answer.text
    if not answer.sentences:
        return _marked(text)
    out: list[str] = []
    pos = 0
    for s in answer.sentences:
        i = text.find(s.text, pos)
        if i < 0:  # the sentence splitter normalised something: fall back to one per line
            return "  \n".join(_sentence(s) for s in answer.sentences)
        out += [escape_md(text[pos:i]), _sentence(s)]
        pos = i + len(s.text)
    out.append(escape_md(text[pos:]))
    return "".join(out)


def _timings(answer: Answer) -> str:
    t = answer.timings
    parts = [f"retrieval {t.retrieve_s:.2f} s"]
    if t.first_token_s is not None:
        parts.append(f"first token {t.first_token_s:.2f} s")
    parts.append(f"total {t.total_s:.1f} s")
    return " · ".join(parts)


def render_answer(answer: Answer, key: str) -> None:
    if answer.abstained:
        st.info(escape_md(answer.text), icon=":material/search_off:")
        if answer.sources:
            with st.expander(
                f"Closest passages ({len(answer.sources)}), none relevant enough",
                expanded=_showing_page(answer, key),
            ):
                _other_passages(answer, set(), key)
        st.caption(_timings(answer))
        return
    st.markdown(answer_markdown(answer))
    if any(not s.supported for s in answer.sentences):
        st.caption("⚠ unsupported: no passage clearly supports that sentence; check it before relying on it.")
    if answer.standalone_question:
        st.caption(escape_md(f"Searched for: {answer.standalone_question}", single_line=True))
    if answer.citations:
        st.markdown("**Sources**")
        for c in answer.citations:
            show_citation(c, key)
    elif answer.sources:
        st.caption("The answer cites no passage: check it against the passages it was given, below.")
    cited = {c.n for c in answer.citations}
    if len(cited) < len(answer.sources):
        n_rest = len(answer.sources) - len(cited)
        label = f"Other retrieved passages ({n_rest})" if cited else f"Retrieved passages ({n_rest})"
        with st.expander(label, expanded=_showing_page(answer, key)):
            _other_passages(answer, cited, key)
    st.caption(_timings(answer))


def _showing_page(answer: Answer, key: str) -> bool:
    return any(st.session_state.get(f"page-{key}-other-{n}") for n in range(1, len(answer.sources) + 1))


def _other_passages(answer: Answer, cited: set[int], key: str) -> None:
    for n, hit in enumerate(answer.sources, 1):
        if n in cited:
            continue
        st.markdown(f"**{escape_md(f'[{n}] {hit.label()}', single_line=True)}** · {score_text(hit.score)}")
        show_passage(hit, "", f"{key}-other-{n}")


def render_turn(turn: Turn) -> None:
    with st.chat_message("user"):
        st.markdown(escape_md(turn.question))
    with st.chat_message("assistant"), st.empty().container():  # the same layout as when it was asked
        if turn.error:
            st.error(escape_md(turn.error))
        elif turn.answer is not None:
            render_answer(turn.answer, turn.id)


# -- asking -------------------------------------------------------------------


def _stream(
    engine: Citeqa,
    question: str,
    options: AskOptions,
    previous: list[Turn],
    out: st.delta_generator.DeltaGenerator,
) -> Answer:
    with holding(model_turn(), WAITING):
        out.markdown(":shimmer[Searching your documents…]")
        stream = engine.ask_stream(
            question,
            top_k=options.top_k,
            mode=options.mode,
            sources=options.sources,
            history=history(previous),
            temperature=options.temperature,
        )
        pieces = iter(stream)
        text, shown_at = "", 0.0
        try:
            for piece in pieces:
                text += piece
                if time.monotonic() - shown_at > _REFRESH_S:
                    out.markdown(escape_md(text) + " ▌")
                    shown_at = time.monotonic()
        finally:
            # Closing the generator chain releases the model's lock even if this run is stopped.
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
    assert stream.answer is not None
    return stream.answer


def ask(engine: Citeqa, question: str, options: AskOptions) -> None:
    """Answer `question` in the chat, streaming, and add it to this session's history."""
    previous = list(turns())
    turn = Turn(question)
    with st.chat_message("user"):
        st.markdown(escape_md(question))
    with st.chat_message("assistant"):
        out = st.empty()
        try:
            turn.answer = _stream(engine, question, options, previous, out)
        except CiteqaError as exc:
            turn.error = f"{exc}"
        except Exception as exc:  # the UI edge: a message, never a traceback
            log.exception("answering failed")
            turn.error = f"Unexpected error while answering: {type(exc).__name__}: {exc}"
        turns().append(turn)
        out.empty()
        with out.container():
            if turn.error:
                st.error(escape_md(turn.error))
            else:
                render_answer(turn.answer, turn.id)  # type: ignore[arg-type]


# -- transcript ---------------------------------------------------------------


def _quote_block(text: str) -> str:
    return "\n".join("> " + ln if ln.strip() else ">" for ln in text.strip().splitlines())


def transcript_markdown(items: list[Turn]) -> str:
    """The conversation as Markdown, each answer followed by its cited sources."""
    lines = ["# citeqa transcript", "", f"Exported {datetime.now().strftime('%Y-%m-%d %H:%M')}", ""]
    for i, t in enumerate(items, 1):
        lines += [f"## Q{i}. {t.question.strip()}", ""]
        if t.error:
            lines += [f"**Error:** {t.error}", ""]
            continue
        a = t.answer
        if a is None:
            continue
        lines += [a.text.strip(), ""]
        if a.abstained:
            continue
        flagged = [s.text for s in a.sentences if not s.supported]
        if flagged:
            lines += ["**Not clearly supported by the sources:**", ""] + [f"- {s}" for s in flagged] + [""]
        if a.citations:
            lines += ["### Sources", ""]
            for c in a.citations:
                where = c.hit.label(full_path=True)
                lines += [f"**[{c.n}]** {where} ({score_text(c.hit.score)})", ""]
                if c.quote:
                    lines += [f"Evidence: “{' '.join(c.quote.split())}”", ""]
                lines += [_quote_block(c.hit.text), ""]
        elif a.sources:
            lines += ["### Retrieved passages (none cited)", ""]
            for n, hit in enumerate(a.sources, 1):
                where = hit.label(full_path=True)
                lines += [f"**[{n}]** {where} ({score_text(hit.score)})", "", _quote_block(hit.text), ""]
    return "\n".join(lines).rstrip() + "\n"
