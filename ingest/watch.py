"""`citeqa watch`: keep a collection in sync with folders as files are added, changed, moved or
deleted.

File events come from watchdog (inotify, FSEvents, ReadDirectoryChangesW). `poll=True`, for
network file systems that send no events, looks at the folders every `poll_s` seconds instead
(`Poller`: one stat per file, compared with the last look). Events only say *that* something
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
from typing import Any

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


class Poller:
    """Polling for file systems that send no events: every `interval` seconds, the size and time
    of each relevant file under `folders` (os.scandir: one stat per file, none for the others),
    and the paths that are new, changed or gone since the last look go to `changes`.

    watchdog's PollingObserver does the same job through a full DirectorySnapshot and its diff
    each time (an inode map, move detection): 11.6 ms of CPU a look over 1,000 files, 1.7 ms
    here; the idle `citeqa watch --poll` of 1,000 files went from 1.3% of a core to 0.43%
    (bench/collections.py --poll, 30 s; 0.13% on file events)."""

    def __init__(self, folders: Sequence[Path], changes: Changes, relevant: Callable[[str], bool], interval: float) -> None:
        self._folders = [str(f) for f in folders]
        self._changes = changes
        self._relevant = relevant
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="citeqa-poll", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def look(self) -> dict[str, tuple[int, int]]:
        """{path: (size, mtime)} of the relevant files, found as ingest finds them (hidden entries
        left out, symlinked folders followed once: a link loop ends)."""
        seen: dict[str, tuple[int, int]] = {}
        folders: set[tuple[int, int]] = set()
        stack = list(self._folders)
        while stack:
            try:
                entries = os.scandir(stack.pop())
            except OSError:
                continue  # gone or unreadable since: its files count as gone
            with entries:
                for e in entries:
                    if e.name.startswith("."):
                        continue
                    try:
                        if e.is_dir():
                            st = e.stat()
                            if (st.st_dev, st.st_ino) not in folders:
                                folders.add((st.st_dev, st.st_ino))
                                stack.append(e.path)
                        elif self._relevant(e.path):
                            st = e.stat()
                            seen[e.path] = (st.st_size, st.st_mtime_ns)
                    except OSError:
                        continue
        return seen

    def _run(self) -> None:
        before = self.look()
        while not self._stop.wait(self._interval):
            now = self.look()
            for path, st in now.items():
                if before.get(path) != st:
                    self._changes.add(path)
            for path in before.keys() - now.keys():
                self._changes.add(path)
            before = now


def watch(
    sync: Callable[[], IngestReport],
    folders: Sequence[Path],
    *,
    debounce: float = 1.0,
    poll: bool = False,
    poll_s: float = 1.0,
    stop: threading.Event | None = None,
    on_sync: Callable[[IngestReport], None] | None = None,
    relevant: Callable[[str], bool] = lambda p: True,
    tick: float = 0.25,
) -> None:
    """Sync once now (what changed while nobody watched), then after every settled burst of file
    events under `folders`, until `stop` is set (or Ctrl-C). `sync` runs the ingest."""
    stop = stop or threading.Event()
    changes = Changes()
    if poll:
        observer: Poller | Any = Poller(folders, changes, relevant, poll_s)
    else:
        from watchdog.observers import Observer

        observer = Observer()
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
