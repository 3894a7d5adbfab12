"""Answer an ingest that has nothing to do without opening the index (see retrieval.datadir)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from citeqa.core.files import content_hash
from citeqa.core.types import FileResult, IngestProgress, IngestReport
from citeqa.ingest.walk import discover


def unchanged_report(
    docs: Mapping[str, tuple[str, int, int]],
    paths: Sequence[str | Path],
    on_progress: Callable[[IngestProgress], None] | None = None,
) -> IngestReport | None:
    """The report of an ingest of `paths` that finds every file unchanged against `docs` (the
    synced record: {path: (content hash, pages, chunks)}), or None when there may be something to
    do (a new, changed or failing file): the caller then runs the real ingest, which does it and
    reports it properly."""
    t0 = time.perf_counter()
    results: list[FileResult] = []
    for c in discover(Path(p) for p in paths):
        if c.skipped:
            results.append(FileResult(str(c.path), "skipped", error=c.problem))
            continue
        rec = docs.get(str(c.path))
        if c.problem or rec is None:
            return None
        try:
            if content_hash(c.path) != rec[0]:
                return None
        except OSError:
            return None
        results.append(FileResult(str(c.path), "unchanged", pages=rec[1], chunks=rec[2]))
    if on_progress is not None:
        on_progress(IngestProgress(len(results), 0, 0))
        for i, r in enumerate(results, 1):
            on_progress(IngestProgress(len(results), i, 0, r))
    return IngestReport(tuple(results), 0, time.perf_counter() - t0)
