"""`citeqa watch`: keep a collection in sync with folders as files are added, changed, moved or
deleted.

File events come from watchdog (inotify, FSEvents, ReadDirectoryChangesW; `poll=True` uses its
polling observer, for network file systems that send no events). Events only say *that* something
changed: once the changed files have been quiet for `debounce` seconds and their size and time
stayed the same between two looks (a file still being copied or saved is not read half-way), the
watched folders are synced exactly as `citeqa ingest FOLDERS --prune` syncs them: unchanged files
are skipped by their hash, changed ones replaced, deleted or moved-away ones removed, with the
same crash safety (a killed run is repaired by the next) and the same per-file failure reports.

The watcher keeps its engine open: the embedding model stays loaded and the index open between
syncs. Holding the data dir, it serves the index to `citeqa ask`, `search`, `docs` and the web app
on the same data dir, which keep working during a sync; if one of them held it first, the watcher
uses its index (citeqa.retrieval.shared).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from citeqa.core.errors import DataDirInUse
from citeqa.core.types import IngestReport

log = logging.getLogger("citeqa")


class Changes:
    """Paths with file events, and when each last changed (an event, or a new size or time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, tuple[int, int] | None]] = {}

    def add(self, path: str) -> None:
        with self._lock:
            self._seen[path] = (time.monotonic(), _stat(path))

    def __len__(self) -> int:
        return len(self._seen)

    def settled(self, debounce: float) -> bool:
        """True (and forgets them) when every changed path has been quiet for `debounce` seconds
        and still has the size and time it had at its last event: nothing is being written."""
        now = time.monotonic()
        with self._lock:
            if not self._seen:
                return False
            quiet = True
            for path, (when, st) in list(self._seen.items()):
                current = _stat(path)
                if current != st:
                    self._seen[path] = (now, current)
                    quiet = False
                elif now - when < debounce:
                    quiet = False
            if quiet:
                self._seen.clear()
            return quiet


def _stat(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


def _handler(changes: Changes, relevant: Callable[[str], bool]):
    from watchdog.events import FileSystemEventHandler

    class Handler(FileSystemEventHandler):
        def on_any_event(self, event) -> None:
            if event.event_type in ("opened", "closed_no_write"):
                return  # reading a file changes nothing (the ingest itself reads them)
            if event.is_directory and event.event_type == "modified":
                return  # a file in it changed: that file has its own event
            for p in (event.src_path, getattr(event, "dest_path", "")):
                p = os.fsdecode(p) if p else ""
                if p and (event.is_directory or relevant(p)):
                    changes.add(p)

    return Handler()


def watch(
    sync: Callable[[], IngestReport],
    folders: Sequence[Path],
    *,
    debounce: float = 1.0,
    poll: bool = False,
    stop: threading.Event | None = None,
    on_sync: Callable[[IngestReport], None] | None = None,
    relevant: Callable[[str], bool] = lambda p: True,
    tick: float = 0.25,
) -> None:
    """Sync once now (what changed while nobody watched), then after every settled burst of file
    events under `folders`, until `stop` is set (or Ctrl-C). `sync` runs the ingest."""
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    stop = stop or threading.Event()
    changes = Changes()
    observer = PollingObserver(timeout=1.0) if poll else Observer()
    handler = _handler(changes, relevant)
    for f in folders:
        observer.schedule(handler, str(f), recursive=True)
    observer.start()
    try:
        _run(sync, on_sync, stop)
        while not stop.wait(tick):
            if changes.settled(debounce):
                _run(sync, on_sync, stop)
    finally:
        observer.stop()
        observer.join(5)


def _run(sync: Callable[[], IngestReport], on_sync: Callable[[IngestReport], None] | None, stop: threading.Event) -> None:
    told = False
    while not stop.is_set():
        try:
            report = sync()
        except DataDirInUse as exc:
            if not told:
                log.warning("%s; syncing when it is free", exc)
                told = True
            stop.wait(1.0)
            continue
        if on_sync is not None:
            on_sync(report)
        return
