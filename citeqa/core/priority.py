"""Index changes made for a server run below its readers: the thread doing them, and the threads
and processes it starts, take a higher nice value (lower CPU priority) than the rest of the process.

`citeqa serve` answers /healthz, searches and listings on its event loop while an upload's ingest
embeds on every core in the same process. On an idle machine that costs the readers nothing; on a
busy one (load averages of 8-16 on 2 cores) the embedding threads and parser processes took their
full share of the CPU beside every other program, and the event loop, one thread among many, got
its turns late: /healthz took up to 2.1 s and the document list 4.3 s (bench/flood.py). With the
ingest's threads niced, the kernel runs the event loop first whenever it has work, and the ingest
still gets every cycle nobody else wants (an idle machine ingests as fast as before).

Linux sets the nice value per thread (`setpriority` on a thread id), and a thread or process
inherits its creator's: the parser processes an ingest starts from a niced thread are niced too.
Elsewhere `setpriority` on a thread id is not available, and nothing is changed. A nice value can
be raised by anyone but lowered only with privileges, so a thread never gets back to 0 once niced:
that is why only threads that do nothing but index changes are niced.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading

INGEST_NICE = 10  # as `nice` with no argument: well below the readers, never starved on an idle machine

_PER_THREAD = sys.platform.startswith("linux")


def thread_nice() -> int:
    """This thread's nice value (0 where threads have none of their own)."""
    if not _PER_THREAD:
        return 0
    try:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    except OSError:
        return 0


def lower_this_thread(nice: int = INGEST_NICE) -> None:
    """Give this thread the nice value `nice` if that is lower priority than it has (never higher:
    that would need privileges). A thread pool's `initializer`, and the encoder's pool threads when
    an index change hands them work."""
    if not _PER_THREAD or nice <= thread_nice():
        return
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
