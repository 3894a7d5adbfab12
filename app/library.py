"""The library: upload and ingest files with live progress, list, delete, re-ingest, index stats."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import streamlit as st

from citeqa.app.changes import busy_message, run_change, write_line
from citeqa.app.display import Display
from citeqa.app.safe_text import escape_md
from citeqa.core.errors import CiteqaError, IngestBusy
from citeqa.core.settings import Settings
from citeqa.core.types import DocumentRecord, FileResult, IngestProgress
from citeqa.engine import Citeqa
from citeqa.ingest.loaders import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

_UPLOADER = "citeqa_uploader_n"
_REPORT = "citeqa_ingest_rows"
_NOTICE = "citeqa_library_notice"
_SELECTED = "citeqa_selected_docs"
_CLEAR_SELECTION = "citeqa_clear_selection"
_STATUS = {
    "added": "✅ added",
    "replaced": "🔄 updated",
    "unchanged": "➖ unchanged",
    "failed": "❌ failed",
    "skipped": "⏭ skipped",
    "removed": "🗑 removed",
}


@dataclass(frozen=True)
class Row:
    """One line of the per-file result table."""

    file: str
    result: str
    chunks: int = 0
    pages: int = 0
    details: str = ""


def document_picker(label: str, paths: list[str], *, key: str, display: Display, placeholder: str) -> list[str]:
    """A multiselect of document paths (shown by their names in the library) that first drops
    selected documents that are gone (deleted meanwhile, maybe by another session)."""
    if key in st.session_state:
        st.session_state[key] = [p for p in st.session_state[key] if p in paths]
    return st.multiselect(label, paths, key=key, format_func=display.path, placeholder=placeholder)


# -- ingest -------------------------------------------------------------------


def _progress_fn(
    bar: st.delta_generator.DeltaGenerator, names: dict[str, str]
) -> Callable[[IngestProgress], None]:
    def update(p: IngestProgress) -> None:
        frac = p.done / p.total if p.total else 1.0
        text = f"{p.done} of {p.total} file(s) · {p.chunks} chunks added"
        if p.result is not None:
            text += f" · {names.get(p.result.path, Path(p.result.path).name)}: {p.result.status}"
        bar.progress(min(frac, 1.0), text=escape_md(text, single_line=True))

    return update


def _row(r: FileResult, name: str, note: str = "") -> Row:
    details = "; ".join(x for x in (r.error, note, *r.warnings) if x)
    return Row(name, _STATUS.get(r.status, r.status), r.chunks, r.pages, details)


def _progress_bar(names: dict[str, str]) -> tuple[st.delta_generator.DeltaGenerator, Callable[[IngestProgress], None]]:
    bar = st.progress(0.0, text="Starting…")
    return bar, _progress_fn(bar, names)


def _reingest_on_line(engine: Citeqa, paths: dict[str, str]) -> list[Row]:
    """Remove `paths` (path → shown name) and ingest them again, as one change on the write line,
    with a live progress bar; one Row per path. Raises IngestBusy when the line is full."""
    bar, update = _progress_bar(paths)
    results: list[FileResult] = []

    def collect(p: IngestProgress) -> None:  # the report counts; the rows come from the progress
        if p.result is not None:
            results.append(p.result)
        update(p)

    def change(report: Callable[[IngestProgress], None]):
        engine.remove(list(paths))
        return engine.ingest(list(paths), on_progress=report)

    report = run_change(engine.settings, change, collect)
    bar.progress(1.0, text=f"Done in {report.seconds:.1f} s: {report.chunks_added} chunks added")
    return [_row(r, paths.get(r.path, Path(r.path).name)) for r in results]


def ingest_uploads(engine: Citeqa, files: Sequence) -> list[Row]:
    """Store and ingest browser uploads (the engine's one upload path: safe names, limits, no
    orphans) on the write line; the files are read only once it has a place for them. Raises
    IngestBusy when the line is full."""
    bar, update = _progress_bar({})

    def change(report: Callable[[IngestProgress], None]):
        return engine.ingest_uploads([(f.name, f.getvalue()) for f in files], on_progress=report)

    results = run_change(engine.settings, change, update)
    bar.progress(1.0, text="Done")
    return [_row(u.result, u.name, u.note) for u in results]


def _upload_section(engine: Citeqa, settings: Settings) -> None:
    n = st.session_state.setdefault(_UPLOADER, 0)
    files = st.file_uploader(
        "Add PDF, Word, PowerPoint, web page, EPUB, text or Markdown files",
        type=sorted(s.lstrip(".") for s in SUPPORTED_SUFFIXES),
        accept_multiple_files=True,
        key=f"uploader-{n}",
        max_upload_size=max(1, math.ceil(settings.max_file_mb)),
        help=f"Up to {settings.max_file_mb:g} MB each (CITEQA_MAX_FILE_MB). Files are kept in the uploads folder of the data dir (CITEQA_DATA_DIR).",
    )
    if files and st.button(f"Add {len(files)} file(s) to the library", type="primary", key="ingest-uploads"):
        try:
            rows = ingest_uploads(engine, files)
        except IngestBusy as exc:  # the files stay in the uploader, to be added again
            st.error(busy_message(exc, write_line(settings.max_ingest_waiting), "Adding the files"))
            return
        except CiteqaError as exc:
            st.error(f"Ingest failed: {exc}")
            return
        except Exception as exc:  # the UI edge: a message, never a traceback
            log.exception("ingest failed")
            st.error(f"Ingest failed unexpectedly: {type(exc).__name__}: {exc}")
            return
        st.session_state[_REPORT] = [asdict(r) for r in rows]
        st.session_state[_UPLOADER] = n + 1  # a fresh, empty uploader
        st.rerun()


def _show_report() -> None:
    rows = st.session_state.get(_REPORT)
    if not rows:
        return
    failed = sum(1 for r in rows if r["result"] == _STATUS["failed"])
    ok = len(rows) - failed
    msg = f"{ok} file(s) in the library" + (f", {failed} failed" if failed else "")
    (st.warning if failed else st.success)(msg)
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "file": "File",
            "result": "Result",
            "chunks": "Chunks",
            "pages": "Pages",
            "details": "Details",
        },
    )


# -- documents ----------------------------------------------------------------


def _delete(engine: Citeqa, paths: list[str]) -> str:
    removed = run_change(engine.settings, lambda _: engine.remove(paths))
    return f"Deleted {len(removed)} document(s)."


def _reingest(engine: Citeqa, display: Display, paths: list[str]) -> list[Row]:
    """Parse, chunk and embed again from the file on disk (e.g. after changing chunk settings)."""
    rows: list[Row] = []
    todo: dict[str, str] = {}
    for p in paths:
        if os.path.isfile(p):
            todo[p] = display.path(p)
        else:
            rows.append(
                Row(
                    display.path(p),
                    _STATUS["failed"],
                    details="the file is no longer at this path; delete it instead",
                )
            )
    return rows + (_reingest_on_line(engine, todo) if todo else [])


def _documents_section(engine: Citeqa, docs: list[DocumentRecord], display: Display) -> None:
    if notice := st.session_state.pop(_NOTICE, None):
        st.success(notice)
    if not docs:
        st.info("No documents yet. Upload some above, or run `citeqa ingest PATH`.")
        return
    table = [
        {
            "document": display.path(d.path),
            "pages": d.pages,
            "chunks": d.chunks,
            "ingested": datetime.fromtimestamp(d.ingested_at),
        }
        for d in docs
    ]
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "document": "Document",
            "pages": "Pages",
            "chunks": "Chunks",
            "ingested": st.column_config.DatetimeColumn("Ingested", format="YYYY-MM-DD HH:mm"),
        },
    )
    paths = [d.path for d in docs]
    if st.session_state.pop(_CLEAR_SELECTION, False):
        st.session_state[_SELECTED] = []
    chosen = document_picker(
        "Select documents",
        paths,
        key=_SELECTED,
        display=display,
        placeholder="Choose documents to delete or re-ingest",
    )
    left, right, _ = st.columns([1, 1, 4])
    delete = left.button("Delete", icon=":material/delete:", disabled=not chosen, key="doc-delete")
    reingest = right.button(
        "Re-ingest",
        icon=":material/refresh:",
        disabled=not chosen,
        key="doc-reingest",
        help="Parse and embed the selected files again from disk",
    )
    try:
        if delete:
            st.session_state[_NOTICE] = _delete(engine, chosen)
        elif reingest:
            st.session_state[_REPORT] = [asdict(r) for r in _reingest(engine, display, chosen)]
    except IngestBusy as exc:  # the selection stays, to be acted on again
        st.error(busy_message(exc, write_line(engine.settings.max_ingest_waiting), "Delete" if delete else "Re-ingest"))
        return
    if delete or reingest:
        st.session_state[_CLEAR_SELECTION] = True
        st.rerun()


def _stats_section(engine: Citeqa, display: Display) -> None:
    s = engine.stats()
    a, b, c = st.columns(3)
    a.metric("Documents", s["documents"])
    b.metric("Pages", s["pages"])
    c.metric("Chunks", s["chunks"])
    # An embedded index is a file in the data dir: its path is the server's business, not a visitor's.
    milvus = "embedded (milvus-lite, in CITEQA_DATA_DIR)" if engine.settings.embedded else s["milvus"]
    st.caption(
        escape_md(f"Collection {s['collection']} · Milvus {milvus} · embedder {s['embedder']}", single_line=True)
    )
    mode = engine.settings.retrieval
    st.caption(escape_md(f"Scores of passages ({mode} retrieval, CITEQA_RETRIEVAL): {display.score_help(mode)}"))


def render(engine: Citeqa, settings: Settings, docs: list[DocumentRecord], display: Display) -> None:
    st.subheader("Add documents")
    _upload_section(engine, settings)
    _show_report()
    st.subheader("Documents")
    _documents_section(engine, docs, display)
    st.subheader("Index")
    _stats_section(engine, display)
