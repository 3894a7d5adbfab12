"""The source view: a cited passage with its evidence highlighted, the PDF page, the file."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import streamlit as st

from citeqa.app.display import Display, score_help, score_text
from citeqa.app.pages import needles_for, render_page
from citeqa.app.safe_text import escape_md, passage_html
from citeqa.core.errors import TooLarge
from citeqa.core.types import Citation, Hit

log = logging.getLogger(__name__)

PAGE_WIDTH_PX = 760


def citation_label(c: Citation, display: Display) -> str:
    """Expander label, e.g. "[2] papers/report.pdf, p. 7 · score 0.812" (Markdown-escaped)."""
    return escape_md(f"[{c.n}] {display.label(c.hit)} · {score_text(c.hit.score)}", single_line=True)


@st.cache_data(max_entries=64, show_spinner="Rendering the page…")
def _page_png(
    path: str, page: int, needles: tuple[str, ...], stamp: tuple[int, int], max_pixels: int
) -> tuple[bytes, bool]:
    rendered = render_page(path, page, needles, max_pixels=max_pixels)
    return rendered.png, rendered.highlighted


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        s = os.stat(path)
    except OSError:
        return None
    return s.st_mtime_ns, s.st_size


def show_page(hit: Hit, quote: str, display: Display) -> None:
    """The cited page as an image, the quote boxed on it."""
    stamp = _stamp(hit.source)
    if stamp is None or hit.page is None:
        st.warning("The file is no longer at this path; re-ingest it to see its pages.")
        return
    try:
        png, highlighted = _page_png(hit.source, hit.page, needles_for(hit, quote), stamp, display.page_pixels)
    except TooLarge as exc:  # its message names the page's size and CITEQA_MAX_PAGE_PIXELS
        st.warning(f"Cannot show this page: {exc}")
        return
    except Exception as exc:  # a damaged or encrypted PDF: the passage is still shown
        log.warning("cannot render %s p. %s: %s", hit.source, hit.page, exc)
        st.warning(f"Cannot render this page: {type(exc).__name__}")
        return
    st.image(png, caption=display.label(hit), width=PAGE_WIDTH_PX)
    if not highlighted:
        st.caption("The passage could not be located in the page's text layer, so it is not marked.")


def _file_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


def show_passage(
    hit: Hit, quote: str, key: str, display: Display, help_: str, evidence_score: float | None = None
) -> None:
    """Passage text (as text), evidence highlighted, scores explained (`help_`: what the passage's
    score means), page image on demand, file download."""
    st.caption(escape_md(f"{display.label(hit)} · {score_text(hit.score)}", single_line=True), help=help_)
    if quote and evidence_score is not None:
        st.caption(f"Highlighted: the quoted sentence · evidence {score_text(evidence_score)}", help=score_help("evidence"))
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
        show_page(hit, quote, display)


def show_citation(c: Citation, key: str, display: Display, help_: str, evidence_score: float | None = None) -> None:
    key = f"{key}-{c.n}"
    # Open while its page is shown, so a rerun (which may rebuild the expander) keeps it in view.
    with st.expander(citation_label(c, display), expanded=bool(st.session_state.get(f"page-{key}"))):
        show_passage(c.hit, c.quote, key, display, help_, evidence_score)
