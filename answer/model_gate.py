"""The gate in front of the chat model (`ModelGate`): first come, first served, a bounded number
waiting. (Turns here are turns at the model, not a conversation's turns.)

A local GGUF model answers one question at a time; a remote one as many as it is allowed. Every
edge (CLI, web chat, HTTP API) queues here, so a waiting user can be told their place in line,
a server can refuse work it could not start soon (429), and a client that goes away leaves the
line without holding it up.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from queue import Empty, Queue
from types import TracebackType

from citeqa.core.errors import ModelBusy

# Callers are told their place in line about this often while they wait, so that a web page can
# show it and notice a stop; waiting itself needs no polling.
WAIT_TICK_S = 0.5


class ModelGate:
    def __init__(self, slots: int = 1, *, max_waiting: int = 32) -> None:
        if slots < 1:
            raise ValueError("slots must be at least 1")
        self.slots = slots
        self.max_waiting = max_waiting
        self._cond = threading.Condition()
        self._line: deque[Turn] = deque()
        self._running = 0

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._line)

    @property
    def running(self) -> int:
        with self._cond:
            return self._running

    def turn(self, *, on_wait: Callable[[int], None] | None = None) -> Turn:
        """Wait for a turn and return it (a context manager that gives it back).

        `on_wait(position)` is called while waiting (1: next in line), at once and then every
        WAIT_TICK_S; if it raises, the caller leaves the line and the exception propagates. Raises
        ModelBusy at once when `max_waiting` callers are already waiting."""
        ticket = Turn(self)
        with self._cond:
            if self._running >= self.slots and len(self._line) >= self.max_waiting:
                raise ModelBusy(len(self._line))
            self._line.append(ticket)
            try:
                while not self._may_start(ticket):
                    if on_wait is not None:
                        position = self._line.index(ticket) + 1
                        self._cond.release()
                        try:
                            on_wait(position)
                        finally:
                            self._cond.acquire()
                        if self._may_start(ticket):
                            break
                    self._cond.wait(WAIT_TICK_S)
            except BaseException:
                self._line.remove(ticket)
                self._cond.notify_all()
                raise
            self._line.popleft()
            self._running += 1
            ticket.active = True
        return ticket

    def _may_start(self, ticket: Turn) -> bool:
        return self._running < self.slots and self._line[0] is ticket

    def _release(self) -> None:
        with self._cond:
            self._running -= 1
            self._cond.notify_all()


class Turn:
    def __init__(self, queue: ModelGate) -> None:
        self._queue = queue
        self.active = False

    def release(self) -> None:
        if self.active:
            self.active = False
            self._queue._release()

    def __enter__(self) -> Turn:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def wait_for_turn(queue: ModelGate, stopped: Callable[[], bool]) -> Iterator[int | Turn]:
    """Wait for a turn at `queue` while telling the caller its place: yields each place in line
    (an int, 1 = next) as it is reported, then the Turn itself, which the caller must release.
    Yields no Turn when `stopped()` turns true while waiting (checked every WAIT_TICK_S at most).
    ModelBusy propagates when the line is full."""
    events: Queue[tuple[str, object]] = Queue()
    lock = threading.Lock()
    gone = False

    def on_wait(position: int) -> None:
        if gone:
            raise _Left()
        events.put(("wait", position))

    def wait() -> None:
        try:
            turn = queue.turn(on_wait=on_wait)
        except _Left:
            return
        except BaseException as exc:  # ModelBusy, or anything else: the caller raises it
            events.put(("error", exc))
            return
        with lock:
            if gone:
                turn.release()  # the caller left as the turn came
            else:
                events.put(("turn", turn))

    threading.Thread(target=wait, name="citeqa-turn", daemon=True).start()
    got = False
    try:
        while True:
            try:
                kind, value = events.get(timeout=WAIT_TICK_S / 5)
            except Empty:
                if stopped():
                    return
                continue
            if kind == "wait":
                yield value  # type: ignore[misc]
            elif kind == "error":
                raise value  # type: ignore[misc]
            else:
                got = True
                yield value  # type: ignore[misc]
                return
    finally:
        if not got:
            with lock:
                gone = True
                while not events.empty():
                    kind, value = events.get_nowait()
                    if kind == "turn":
                        value.release()  # type: ignore[attr-defined]


class _Left(Exception):
    """Raised in the waiting thread when its caller has gone."""
