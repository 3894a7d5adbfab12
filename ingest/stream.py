"""Iterator plumbing for the ingest pipeline: parsing ahead in a thread, and looking ahead."""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


def prefetch(items: Iterator[T], *, ahead: int) -> Iterator[T]:
    """Run `items` in a background thread, up to `ahead` results in advance."""
    q: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    end = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
            return
        put(end)

    thread = threading.Thread(target=produce, name="citeqa-parse", daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()  # the consumer stopped early (an error downstream): let the thread end
        thread.join()


def count_ahead(items: Iterator[T], wanted: Callable[[T], bool], n: int, *, limit: int) -> tuple[int, Iterator[T]]:
    """How many of the next items (up to `n`) are `wanted`, looking at no more than `limit`
    items; and an iterator over all of `items` as if none had been looked at."""
    seen: list[T] = []
    found = 0
    for item in items:
        seen.append(item)
        found += wanted(item)
        if found >= n or len(seen) >= limit:
            break
    return found, itertools.chain(seen, items)
