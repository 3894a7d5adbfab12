"""`<collection>.sync.json` in the data dir: when a collection was last brought in sync with its
files (an ingest, an upload, a removal, the watcher), and which files failed then. Read without
Milvus, for `citeqa collections` and the web app's library."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from citeqa.core.types import IngestReport

log = logging.getLogger("citeqa")


@dataclass(frozen=True)
class SyncState:
    last_sync: float | None = None
    failed: tuple[tuple[str, str], ...] = ()  # (path, error) of the last sync's failures


def sync_path(data_dir: Path, collection: str) -> Path:
    return data_dir / f"{collection}.sync.json"


def read_sync(data_dir: Path, collection: str) -> SyncState:
    try:
        data = json.loads(sync_path(data_dir, collection).read_text(encoding="utf-8"))
        return SyncState(float(data["last_sync"]), tuple((str(p), str(e)) for p, e in data.get("failed", [])))
    except (OSError, ValueError, KeyError, TypeError):
        return SyncState()


def record_sync(data_dir: Path, collection: str, report: IngestReport | None = None) -> None:
    """Record a sync that just finished (atomically; a failure to record only warns: the
    documents are what matter)."""
    failed = [[f.path, f.error or ""] for f in report.failed] if report is not None else []
    target = sync_path(data_dir, collection)
    try:
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".sync-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"last_sync": time.time(), "failed": failed}, fh)
        os.replace(tmp, target)
    except OSError as exc:
        log.warning("cannot record the last sync in %s: %s", target, exc)
