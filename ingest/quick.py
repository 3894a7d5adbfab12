"""Answer an ingest that has nothing to do without opening the index (see retrieval.datadir)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from citeqa.core.files import content_hash
from citeqa.core.types import FileResult, IngestProgress, IngestReport
from citeqa.ingest.report import Tally
from citeqa.ingest.walk import discover


def unchanged_report(
    docs: Mapping[str, tuple[str, int, int]],
    paths: Sequence[str | Path],
    on_progress: Callable[[IngestProgress], None] | None = None,
) -> IngestReport | None:
    """The report of an ingest of `paths` that finds every file unchanged against `docs` (the
    synced record: {path: (content hash, pages, chunks)}), or None when there may be something to
    do (a new, changed or failing file): the caller then runs the real ingest, which does it and
    reports it properly. Progress is sent only once the answer is known, so a run that falls
    through to the real ingest reports each file once."""
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
    tally = Tally(on_progress)
    tally.start(len(results))
    for r in results:
        tally.settle(r)
    return tally.report(time.perf_counter() - t0)
