"""A file whose reader stops making progress fails alone, instead of hanging the whole ingest.

Malformed PDFs have made pypdf loop forever, again and again (its tracker has a run of such
issues and security fixes; a user cannot tell which file of a thousand it is, and a re-run hangs
on the same file). The readers run in Python, so the watchdog raises `ParseStalled` inside the
parsing thread when it has not reported progress (`tick`: the PDF reader ticks once per page read
or OCR'd) for `limit_s` seconds; the file is reported failed and the ingest goes on. A reader
stuck inside C code (a regular expression, pdfium) is interrupted when it returns to Python.
"""

from __future__ import annotations

import contextlib
import ctypes
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any


class ParseStalled(Exception):
    """Raised in a parsing thread that made no progress for the watchdog's limit. The PDF reader
    catches it per page, so a page that loops is skipped with a warning and the rest is read."""

    def __str__(self) -> str:
        return "stopped: no progress within CITEQA_PARSE_TIMEOUT seconds (a malformed file can make its reader loop)"


class Watchdog:
    """`watching()` around each file's parse, in the thread that parses; `tick` on progress."""

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self._lock = threading.Lock()
        self._last: dict[int, float] = {}  # parsing thread → when it last made progress
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Watchdog:
        _quiet_when_swallowed()
        self._thread = threading.Thread(target=self._run, name="citeqa-watchdog", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    @contextlib.contextmanager
    def watching(self) -> Iterator[Callable[[], None]]:
        """Watch the calling thread until the block ends; yields its `tick`. ParseStalled may be
        raised anywhere inside the block (never after it: the thread leaves the watch under the
        same lock the watchdog fires under)."""
        me = threading.get_ident()
        with self._lock:
            self._last[me] = time.monotonic()
        try:
            yield self.tick
        finally:
            with self._lock:
                self._last.pop(me, None)

    def tick(self) -> None:
        me = threading.get_ident()
        with self._lock:
            if me in self._last:
                self._last[me] = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, self.limit_s / 4)):
            now = time.monotonic()
            with self._lock:
                for ident, last in list(self._last.items()):
                    if now - last > self.limit_s:
                        # Again after another limit without progress: an exception that lands in a
                        # garbage-collector callback running in that thread is swallowed there.
                        self._last[ident] = now
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(ParseStalled))


def _quiet_when_swallowed() -> None:
    """A stop that lands in a garbage-collector callback is printed by Python as "Exception ignored
    in ..."; it is sent again, so the user needs no traceback for it."""
    hook = sys.unraisablehook
    if getattr(hook, "citeqa_quiet", False):
        return

    def quiet(unraisable: Any) -> None:
        if unraisable.exc_type is not ParseStalled:
            hook(unraisable)

    quiet.citeqa_quiet = True  # type: ignore[attr-defined]
    sys.unraisablehook = quiet


@contextlib.contextmanager
def watched(limit_s: float) -> Iterator[Watchdog | None]:
    """A running watchdog with this limit, or None when the limit is 0 (off)."""
    if limit_s <= 0:
        yield None
        return
    with Watchdog(limit_s) as dog:
        yield dog
