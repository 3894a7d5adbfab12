"""The chat: per-session history, streamed answers, cited sources, the transcript."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import streamlit as st

from citeqa.answer.answerer import CUT_NOTE, EVIDENCE_HEADER, GENERATED_HEADER
from citeqa.answer.citations import MARKER
from citeqa.app.display import Display, score_text
from citeqa.app.safe_text import escape_md
from citeqa.app.sources import show_citation, show_passage
from citeqa.core.settings import RetrievalMode
from citeqa.core.types import Answer, Evidence, Sentence

_TURNS = "citeqa_turns"
STOPPED = "Stopped: the answer is what was shown when it stopped; the model went on to the next question."


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
    mode: RetrievalMode = "hybrid"  # how its passages were retrieved (what their scores mean)
    stopped: bool = False  # stopped by the user (or the browser went away) before it was complete
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:10])


_TURNS_OF = "citeqa_turns_collection"  # the collection whose chat `_TURNS` holds
_ID = "citeqa_chat_id"
_OTHERS = "citeqa_turns_by_collection"  # the other collections' chats, while another is shown


def _follow_collection() -> None:
    """One chat per collection: when the picker (app.picker) changed collection, put the shown
    chat aside and bring that collection's back."""
    shown = st.session_state.get("citeqa_collection") or ""
    held = st.session_state.setdefault(_TURNS_OF, shown)
    if held == shown:
        return
    others = st.session_state.setdefault(_OTHERS, {})
    others[held] = (st.session_state.get(_TURNS, []), st.session_state.get(_ID))
    items, cid = others.pop(shown, ([], None))
    st.session_state[_TURNS] = items
    if cid is None:
        st.session_state.pop(_ID, None)
    else:
        st.session_state[_ID] = cid
    st.session_state[_TURNS_OF] = shown


def turns() -> list[Turn]:
    _follow_collection()
    return st.session_state.setdefault(_TURNS, [])


def new_chat() -> None:
    _follow_collection()
    st.session_state[_TURNS] = []
    st.session_state.pop(_ID, None)


def chat_id() -> str:
    """The id the current chat is saved under (app.saved); a new chat gets a new one."""
    _follow_collection()
    return st.session_state.setdefault(_ID, uuid.uuid4().hex)


def open_chat(chat_id: str, items: list[Turn]) -> None:
    _follow_collection()
    st.session_state[_TURNS] = list(items)
    st.session_state[_ID] = chat_id


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

NOT_SUPPORTED = "not supported by your documents"


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


def evidence_markdown(evidence: tuple[Evidence, ...], display: Display | None = None) -> str:
    """The evidence answer: each quote with its [n] badge, file and page."""
    display = display or Display()
    lines = [f"**{escape_md(EVIDENCE_HEADER, single_line=True)}**"]
    for e in evidence:
        quote = escape_md(" ".join(e.quote.split()), single_line=True)
        lines.append(f":blue-badge[{e.n}] “{quote}” — *{escape_md(display.evidence_label(e), single_line=True)}*")
    return "  \n".join(lines)


def _unsupported(s: Sentence) -> str:
    return f":gray[~~{escape_md(s.text, single_line=True)}~~] :orange-badge[{NOT_SUPPORTED}]"


def answer_markdown(answer: Answer, display: Display | None = None) -> str:
    """The answer as shown: evidence quotes, then the supported generated sentences with their
    badges; all text escaped. Unsupported sentences are not part of it (`unsupported_markdown`)."""
    if answer.abstained:
        return escape_md(answer.text)
    out = evidence_markdown(answer.evidence, display)
    if answer.generated:
        out += f"\n\n**{GENERATED_HEADER.strip()}** " + _marked(answer.generated)
    if answer.truncated and answer.answer_kind == "generated":
        out += "\n\n" + escape_md(CUT_NOTE.strip())
    return out


def unsupported_markdown(answer: Answer) -> str:
    """The generated sentences no cited passage supports, struck through and labelled."""
    return "  \n".join(_unsupported(s) for s in answer.unsupported)


def _timings(answer: Answer) -> str:
    t = answer.timings
    parts = [f"evidence {t.evidence_s:.2f} s"]
    if t.wait_s is not None:
        parts.append(f"waited for the model {max(0.0, t.wait_s - t.evidence_s):.1f} s")
    if t.first_token_s is not None:
        parts.append(f"first token {t.first_token_s:.2f} s")
    # As precise as the evidence time below 10 s: "evidence 0.05 s · total 0.0 s" read as a clock error.
    parts.append(f"total {t.total_s:.2f} s" if t.total_s < 10 else f"total {t.total_s:.1f} s")
    return " · ".join(parts)


def render_answer(turn: Turn, display: Display) -> None:
    answer, key = turn.answer, turn.id
    assert answer is not None
    help_ = display.score_help(turn.mode)
    if answer.abstained or not answer.text.strip():
        if answer.abstained:
            st.info(escape_md(answer.text), icon=":material/search_off:")
        if answer.sources:
            label = "Closest passages ({}), not relevant enough" if answer.abstained else "Retrieved passages ({})"
            with st.expander(label.format(len(answer.sources)), expanded=_showing_page(answer, key)):
                _other_passages(answer, set(), key, display, help_)
        _footer(turn)
        return
    st.markdown(answer_markdown(answer, display))
    if answer.unsupported:
        st.caption("The model also wrote this, which no passage it cites supports; it is not part of the answer:")
        st.markdown(unsupported_markdown(answer))
    if answer.standalone_question:
        st.caption(escape_md(f"A follow-up: also searched for: {answer.standalone_question}", single_line=True))
    if answer.citations:
        st.markdown("**Sources**")
        scores = {e.n: e.score for e in reversed(answer.evidence)}  # the best quote of each passage
        for c in answer.citations:
            show_citation(c, key, display, help_, scores.get(c.n))
    cited = {c.n for c in answer.citations}
    if len(cited) < len(answer.sources):
        n_rest = len(answer.sources) - len(cited)
        label = f"Other retrieved passages ({n_rest})" if cited else f"Retrieved passages ({n_rest})"
        with st.expander(label, expanded=_showing_page(answer, key)):
            _other_passages(answer, cited, key, display, help_)
    _footer(turn)


def _footer(turn: Turn) -> None:
    if turn.stopped:
        st.caption(f":material/stop_circle: {STOPPED}")
    if turn.answer is not None:
        st.caption(_timings(turn.answer))


def _showing_page(answer: Answer, key: str) -> bool:
    return any(st.session_state.get(f"page-{key}-other-{n}") for n in range(1, len(answer.sources) + 1))


def _other_passages(answer: Answer, cited: set[int], key: str, display: Display, help_: str) -> None:
    for n, hit in enumerate(answer.sources, 1):
        if n in cited:
            continue
        st.markdown(
            f"**{escape_md(f'[{n}] {display.label(hit)}', single_line=True)}** · {score_text(hit.score)}", help=help_
        )
        show_passage(hit, "", f"{key}-other-{n}", display, help_)


def render_turn(turn: Turn, display: Display) -> None:
    with st.chat_message("user"):
        st.markdown(escape_md(turn.question))
    with st.chat_message("assistant"), st.empty().container():  # the same layout as when it was asked
        if turn.error:
            st.error(escape_md(turn.error))
        elif turn.answer is not None:
            render_answer(turn, display)
        elif turn.stopped:
            st.caption(":material/stop_circle: Stopped before anything was found.")


# -- transcript ---------------------------------------------------------------


def _quote_block(text: str) -> str:
    return "\n".join("> " + ln if ln.strip() else ">" for ln in text.strip().splitlines())


def transcript_markdown(items: list[Turn], display: Display | None = None) -> str:
    """The conversation as Markdown, each answer followed by its cited sources."""
    display = display or Display()
    lines = ["# citeqa transcript", "", f"Exported {datetime.now().strftime('%Y-%m-%d %H:%M')}", ""]
    for i, t in enumerate(items, 1):
        lines += [f"## Q{i}. {t.question.strip()}", ""]
        if t.error:
            lines += [f"**Error:** {t.error}", ""]
            continue
        if t.stopped:
            lines += [f"*{STOPPED}*", ""]
        a = t.answer
        if a is None:
            continue
        lines += [a.text.strip(), ""]
        if a.abstained:
            continue
        if a.unsupported:
            lines += [f"**Also written by the model, {NOT_SUPPORTED}:**", ""]
            lines += [f"- ~~{s.text}~~" for s in a.unsupported] + [""]
        if a.citations:
            lines += ["### Sources", ""]
            for c in a.citations:
                lines += [f"**[{c.n}]** {display.label(c.hit)} ({score_text(c.hit.score)})", ""]
                if c.quote:
                    lines += [f"Evidence: “{' '.join(c.quote.split())}”", ""]
                lines += [_quote_block(c.hit.text), ""]
        elif a.sources:
            lines += ["### Retrieved passages (none cited)", ""]
            for n, hit in enumerate(a.sources, 1):
                lines += [f"**[{n}]** {display.label(hit)} ({score_text(hit.score)})", "", _quote_block(hit.text), ""]
    modes = dict.fromkeys(t.mode for t in items if t.answer is not None and t.answer.sources)
    for mode in modes:
        lines += [f"*Scores{f' ({mode} retrieval)' if len(modes) > 1 else ''}: {display.score_help(mode)}*", ""]
    return "\n".join(lines).rstrip() + "\n"
