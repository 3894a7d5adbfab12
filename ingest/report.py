"""An ingest's running tally: counts by status, the failures, chunks and OCR'd pages, and the
progress callback told of every file as it is settled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from citeqa.core.types import FileResult, FileStatus, IngestProgress, IngestReport

ProgressFn = Callable[[IngestProgress], None]


class Tally:
    def __init__(self, on_progress: ProgressFn | None = None) -> None:
        self._notify = on_progress if on_progress is not None else (lambda _p: None)
        self.total = 0
        self.done = 0
        self.chunks = 0
        self.ocr_pages = 0
        self._counts: Counter[FileStatus] = Counter()
        self._failed: list[FileResult] = []

    def start(self, total: int) -> None:
        self.total = total
        self._notify(IngestProgress(total, 0, self.chunks))

    def settle(self, r: FileResult) -> None:
        self.done += 1
        self._counts[r.status] += 1
        if r.status in ("added", "replaced"):
            self.chunks += r.chunks
            self.ocr_pages += r.ocr_pages
        if r.status == "failed":
            self._failed.append(r)
        # Files can appear after the count (written meanwhile): the total never reads below done.
        self.total = max(self.total, self.done)
        self._notify(IngestProgress(self.total, self.done, self.chunks, r))

    def report(self, seconds: float) -> IngestReport:
        return IngestReport(dict(self._counts), tuple(self._failed), self.chunks, seconds, self.ocr_pages)
