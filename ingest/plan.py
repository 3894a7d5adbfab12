"""What an ingest is given, looked at once: every file found, what it needs, and its content hash.

The paths are walked once (citeqa.ingest.walk); each file found is then classified as it is
reached (new, changed, unchanged, skipped, failed), hashed once, and compared with what the index
holds of it, a window of files at a time. An ingest that finds nothing to do is answered from the
plan alone (`unchanged_report`): with the data dir's synced record that needs neither Milvus nor a
model, so `citeqa ingest` over unchanged files ends in a fraction of a second. When there is work
after all, the real ingest goes on with the same plan: no file is walked or hashed twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from citeqa.core.files import content_hash, os_reason
from citeqa.core.types import FileResult, IngestProgress, IngestReport, SyncedFile
from citeqa.ingest.report import Tally
from citeqa.ingest.walk import Candidate, discover

FileNeed = Literal["new", "changed", "unchanged", "skipped", "failed"]
# What the index holds of a window of paths (those it holds nothing of are left out).
Lookup = Callable[[list[str]], Mapping[str, SyncedFile]]

_WINDOW = 200  # files looked up in the index at once


@dataclass(frozen=True)
class PlannedFile:
    """One file found. `content_hash`: of its bytes now (new, changed, unchanged); `held`: what
    the index holds of it (unchanged, changed); `problem`: why it is skipped or failed."""

    path: str
    need: FileNeed
    content_hash: str = ""
    held: SyncedFile | None = None
    problem: str | None = None

    @property
    def to_read(self) -> bool:
        return self.need in ("new", "changed")

    def result(self) -> FileResult:
        """What the ingest reports for a file it does not read."""
        if self.need == "unchanged" and self.held is not None:
            return FileResult(self.path, "unchanged", chunks=self.held.chunks, pages=self.held.pages)
        if self.need in ("skipped", "failed"):
            return FileResult(self.path, self.need, error=self.problem)
        raise ValueError(f"{self.path} is to be read, not reported ({self.need})")


class Plan:
    """`paths` walked once, now; their files classified on demand by `files()`. `known`: what the
    index holds (the data dir's synced record, which is the manifest exactly when present), else
    None and `files()` is given a lookup into the index itself."""

    def __init__(self, paths: Sequence[str | Path], known: Mapping[str, SyncedFile] | None = None) -> None:
        self.paths = list(paths)
        self.known = known
        # The one walk. Its list gives the progress bar its total before any file is read.
        self._found: list[Candidate] = list(discover(Path(p) for p in self.paths))
        self._planned: list[PlannedFile] = []

    @property
    def total(self) -> int:
        return len(self._found)

    def files(self, lookup: Lookup | None = None) -> Iterator[PlannedFile]:
        """Every file found, in walk order, each classified and hashed once however often this is
        iterated: the files an earlier iteration looked at come again as they were, then the rest.
        `lookup` is used where the plan has no `known` record."""
        if self.known is not None:
            known = self.known
            lookup = lambda paths: {p: held for p in paths if (held := known.get(p)) is not None}  # noqa: E731
        elif lookup is None:
            raise ValueError("a plan without the synced record needs a lookup into the index")
        i = 0
        while True:
            while i < len(self._planned):
                yield self._planned[i]
                i += 1
            if len(self._planned) == len(self._found):
                return
            start = len(self._planned)
            window = self._found[start : start + _WINDOW]
            held = lookup([str(c.path) for c in window if not c.problem])
            for c in window:
                self._planned.append(_classified(c, held))
                yield self._planned[i]
                i += 1

    def unchanged_report(self, on_progress: Callable[[IngestProgress], None] | None = None) -> IngestReport | None:
        """The report of an ingest that finds every file unchanged (or skipped) against the synced
        record, or None when there may be something to do (a new, changed or failing file): the
        caller then runs the real ingest on this plan, which does it and reports it properly.
        Progress is sent only once the answer is known, so a run that falls through to the real
        ingest reports each file once."""
        t0 = time.perf_counter()
        if self.known is None:
            return None
        results: list[FileResult] = []
        for f in self.files():
            if f.need not in ("unchanged", "skipped"):
                return None
            results.append(f.result())
        tally = Tally(on_progress)
        tally.start(len(results))
        for r in results:
            tally.settle(r)
        return tally.report(time.perf_counter() - t0)


def _classified(c: Candidate, held: Mapping[str, SyncedFile]) -> PlannedFile:
    path = str(c.path)
    if c.skipped:
        return PlannedFile(path, "skipped", problem=c.problem)
    if c.problem:
        return PlannedFile(path, "failed", problem=c.problem)
    try:
        digest = content_hash(path)
    except OSError as exc:
        return PlannedFile(path, "failed", problem=os_reason(exc))
    record = held.get(path)
    if record is None:
        return PlannedFile(path, "new", digest)
    return PlannedFile(path, "unchanged" if record.content_hash == digest else "changed", digest, record)
