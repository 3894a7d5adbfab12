"""Small line records in the data dir, written whole or not at all.

- `<collection>.roots.txt`: where documents were ingested from (the files and folders given to
  ingest, absolute), so that an interface can name a document by its path inside the folder it
  came from rather than by the machine's whole path;
- `<collection>.reindex.txt`: the files of a `citeqa reindex` under way, so that a killed one
  resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from citeqa.core.files import absolute_path

log = logging.getLogger("citeqa")


def read_lines(record: Path) -> list[str]:
    """The record's lines, in order; empty when there is no record."""
    try:
        text = record.read_text(encoding="utf-8")
    except OSError:
        return []
    return [line for line in text.splitlines() if line]


def write_lines(record: Path, lines: Iterable[str]) -> None:
    """Replace the record with `lines` atomically: a reader sees the old record or the new one."""
    record.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=record.parent, prefix=f".{record.stem}-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
        os.replace(tmp, record)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remember_roots(record: Path, given: Sequence[str | Path], *, skip: Path | None = None) -> None:
    """Add the existing paths of `given` (made absolute as ingest's walk makes them, not resolved)
    to `record`, leaving out `skip` and what is under it (the uploads folder, named apart)."""
    skipped = absolute_path(skip) if skip is not None else None
    new = []
    for p in given:
        norm = absolute_path(p)
        if skipped is not None and (norm == skipped or norm.startswith(skipped + os.sep)):
            continue
        if os.path.exists(norm):
            new.append(norm)
    known = read_lines(record)
    if not (added := [r for r in dict.fromkeys(new) if r not in known]):
        return
    try:
        write_lines(record, known + added)
    except OSError as exc:  # only names on screen depend on it: the ingest goes on
        log.warning("cannot record the ingested folders in %s: %s", record, exc)
