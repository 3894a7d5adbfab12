"""The source view: a cited passage with its evidence highlighted, the PDF page, the file."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import streamlit as st

from citeqa.app.pages import render_page
from citeqa.app.safe_text import escape_md, passage_html
from citeqa.core.types import Citation, Hit

log = logging.getLogger(__name__)

PAGE_WIDTH_PX = 760


def score_text(score: float) -> str:
    return f"score {score:.3g}"


def citation_label(c: Citation) -> str:
    """Expander label, e.g. "[2] report.pdf, p. 7 · score 0.812" (Markdown-escaped)."""
    return escape_md(f"[{c.n}] {c.hit.label()} · {score_text(c.hit.score)}", single_line=True)


@st.cache_data(max_entries=64, show_spinner="Rendering the page…")
def _page_png(path: str, page: int, needles: tuple[str, ...], stamp: tuple[int, int]) -> tuple[bytes, bool]:
    rendered = render_page(path, page, needles)
    return rendered.png, rendered.highlighted


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        s = os.stat(path)
    except OSError:
        return None
    return s.st_mtime_ns, s.st_size


def show_page(hit: Hit, quote: str) -> None:
    """The cited page as an image, the quote boxed on it."""
    stamp = _stamp(hit.source)
    if stamp is None or hit.page is None:
        st.warning("The file is no longer at this path; re-ingest it to see its pages.")
        return
    try:
        png, highlighted = _page_png(hit.source, hit.page, tuple(x for x in (quote, hit.text) if x), stamp)
    except Exception as exc:  # a damaged or encrypted PDF: the passage is still shown
        log.warning("cannot render %s p. %s: %s", hit.source, hit.page, exc)
        st.warning(f"Cannot render this page: {type(exc).__name__}")
        return
    st.image(png, caption=f"{Path(hit.source).name}, page {hit.page}", width=PAGE_WIDTH_PX)
    if not highlighted:
        st.caption("The passage could not be located in the page's text layer, so it is not marked.")


def _file_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def show_passage(hit: Hit, quote: str, key: str) -> None:
    """Passage text (as text), evidence highlighted, score, page image on demand, file download."""
    st.caption(
        escape_md(
            f"{hit.source}" + (f" · page {hit.page}" if hit.page else f" · {hit.location}" if hit.location else "")
            + f" · {score_text(hit.score)}",
            single_line=True,
        )
    )
    st.html(passage_html(hit.text, quote))
    exists = os.path.isfile(hit.source)
    is_pdf = hit.source.lower().endswith(".pdf") and hit.page is not None
    left, right = st.columns(2)
    show = False
    with left:
        if is_pdf and exists:
            show = st.toggle(
                "Show page", key=f"page-{key}", help="Render the cited PDF page with the passage marked"
            )
    with right:
        if exists:
            st.download_button(
                "Download file",
                data=functools.partial(_file_bytes, hit.source),
                file_name=Path(hit.source).name,
                key=f"dl-{key}",
                icon=":material/download:",
            )
        else:
            st.caption("File no longer at this path.")
    if show:
        show_page(hit, quote)


def show_citation(c: Citation, key: str) -> None:
    key = f"{key}-{c.n}"
    # Open while its page is shown, so a rerun (which may rebuild the expander) keeps it in view.
    with st.expander(citation_label(c), expanded=bool(st.session_state.get(f"page-{key}"))):
        show_passage(c.hit, c.quote, key)
