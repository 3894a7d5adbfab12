"""The line that index changes (uploads, removals, re-ingests) wait in: one thread runs them in
turn, and a bounded number may wait behind it (CITEQA_MAX_INGEST_WAITING).

The engine runs one change at a time anyway (its write lock); what the line bounds is the waiting.
A change that waits holds a place in the line, not a thread of the edge's own (the HTTP API's
AnyIO threads, which searches and /healthz share), nor the uploaded bytes, which are read only
once a place is taken; a change that finds the line full is refused at once with IngestBusy (the
HTTP API's 429 with Retry-After, the web app's error naming the setting). The HTTP API
(citeqa.server.writes) and the web app (citeqa.app.changes) each keep one per process.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from citeqa.core.errors import IngestBusy
from citeqa.core.priority import lower_this_thread

T = TypeVar("T")


class WriteLine:
    def __init__(self, max_waiting: int, after: Callable[[], None] | None = None) -> None:
        """`after` is called when each change ends (e.g. the HTTP API takes /healthz's counts again)."""
        self.max_waiting = max_waiting
        self._after = after
        # Niced (citeqa.core.priority): on a busy machine the readers (/healthz, searches, listings)
        # get the CPU before the change's embedding and parsing, which inherit the line's priority.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citeqa-writes", initializer=lower_this_thread)
        self._lock = threading.Lock()
        self._held = 0  # places taken: the running change and those waiting
        self._mean_s = 5.0  # a change's duration, smoothed, for Retry-After

    @property
    def busy(self) -> bool:
        """A change is running or waiting."""
        return self._held > 0

    @property
    def waiting(self) -> int:
        return max(0, self._held - 1)

    def take(self) -> None:
        """A place in the line, or IngestBusy when the running change has max_waiting behind it."""
        with self._lock:
            if self._held > self.max_waiting:
                raise IngestBusy(self._held - 1)
            self._held += 1

    def give_back(self) -> None:
        with self._lock:
            self._held -= 1

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Run `fn` in the line's thread, with the place taken by `take` (given back when `fn` ends,
        even if whoever waits for it has gone: the change still runs to the end)."""

        def timed() -> T:
            started = time.monotonic()
            try:
                return fn()
            finally:
                self._mean_s = 0.7 * self._mean_s + 0.3 * (time.monotonic() - started)
                if self._after is not None:
                    self._after()

        future = self._pool.submit(timed)
        future.add_done_callback(lambda _: self.give_back())
        return future

    def retry_after_s(self) -> int:
        """About how long until a place is free: seconds to say in Retry-After (1 to 60)."""
        return max(1, min(60, math.ceil(self._mean_s * (self.waiting + 1))))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
