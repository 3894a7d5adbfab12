"""The HTTP API's index changes (uploads, removals) on a thread of their own, behind a bounded line.

They used to run in AnyIO's worker threads, which searches, listings and /healthz share: 45 small
uploads waiting there for the engine's write lock took all 40 threads, and /healthz took 65 s. Now
one thread runs the changes in turn (the engine serializes them anyway); a request waiting for it
holds a place in the line, not a thread, and a request finding the line full is refused at once
(429 with Retry-After), before its body is received.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from citeqa.core.errors import IngestBusy

T = TypeVar("T")


class WriteLine:
    def __init__(self, max_waiting: int, after: Callable[[], None] | None = None) -> None:
        """`after` is called when each change ends (GET /healthz's counts are taken again)."""
        self.max_waiting = max_waiting
        self._after = after
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citeqa-writes")
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

    async def run(self, fn: Callable[[], T]) -> T:
        """Run `fn` in the line's thread, with the place taken by `take` (given back when `fn` ends,
        even if the client has gone: the change still runs to the end)."""

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
        return await asyncio.wrap_future(future)

    def retry_after_s(self) -> int:
        return max(1, min(60, math.ceil(self._mean_s * (self.waiting + 1))))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
