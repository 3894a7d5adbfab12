"""Terminal progress for ingestion: files, chunks and ETA on stderr, a line per failed file."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from citeqa.core.types import IngestProgress

if TYPE_CHECKING:
    from tqdm import tqdm


def count(n: int, noun: str) -> str:
    """`1 page`, `3 pages`: the nouns used here all take a plain -s."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class IngestBar:
    """`enabled`: the bar and warnings. `failures`: a `failed: PATH: REASON` line per failed file, on
    by default with the bar (a quiet run keeps them: they are errors). `verbose`: a line for every file.

    Lines go to stderr like the bar, so stdout stays free for a command's own output. The bar is drawn
    only on a terminal; in a log file its redraws would be noise, while the lines still appear."""

    def __init__(self, *, enabled: bool = True, failures: bool | None = None, verbose: bool = False) -> None:
        self.enabled = enabled
        self.failures = enabled if failures is None else failures
        self.verbose = verbose and enabled
        self._bar: tqdm | None = None

    def __enter__(self) -> IngestBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def _line(self, text: str) -> None:
        if self._bar is not None:
            self._bar.write(text, file=sys.stderr)
        else:
            print(text, file=sys.stderr, flush=True)

    def update(self, p: IngestProgress) -> None:
        if self.enabled:
            if self._bar is None:
                from tqdm import tqdm  # not before a bar is drawn: an unchanged re-run ends sooner

                self._bar = tqdm(
                    total=p.total,
                    unit="file",
                    desc="ingest",
                    dynamic_ncols=True,
                    leave=True,
                    file=sys.stderr,
                    disable=not _isatty(),
                )
            self._bar.set_postfix_str(f"{p.chunks} chunks", refresh=False)
            self._bar.n = p.done
            self._bar.refresh()
        r = p.result
        if r is None:
            return
        if r.status == "failed":
            if self.failures:
                self._line(f"failed: {r.path}: {r.error}")
            return
        if self.enabled:
            for w in r.warnings:
                self._line(f"warning: {r.path}: {w}")
        if self.verbose:
            detail = f" ({r.error})" if r.status == "skipped" and r.error else ""
            if r.status in ("added", "replaced", "unchanged"):
                ocr = f", {r.ocr_pages} read by OCR" if r.ocr_pages else ""
                detail = f" ({count(r.chunks, 'chunk')}, {count(r.pages, 'page')}{ocr})"
            self._line(f"{r.status}: {r.path}{detail}")


def _isatty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
