"""Freed memory goes back to the system, so that resident memory follows what citeqa holds.

The embedded index (milvus-lite) runs inside citeqa's process, in Python over Arrow: each flush
and each merge of its segments allocates, then frees, tens of MB of Arrow buffers. Arrow's default
allocator (mimalloc) keeps freed memory for reuse, and glibc raises its mmap threshold after the
first large free, after which large blocks come from heaps it seldom shrinks; either way resident
memory ratchets up with every merge.

Measured here (peak RSS of `citeqa ingest`, bench/scale.py's 20,000 documents and the six corpus
PDFs): 643 and 420 MB as they were; Arrow's system allocator alone 482–587 and 348 MB (the peak
depends on when merges land); with glibc's mmap and trim thresholds fixed at 4 MB as well 473–478
and 350 MB. At 1 MB the thresholds saved a little more but made the PDF ingest 15% slower; at 4 MB
the time was unchanged (10.96 s against 11.29 s as it was).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import sys

MALLOC_THRESHOLD = 4 << 20  # bytes: blocks this large are mapped alone; heap tops this free are returned
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def release_freed_memory() -> None:
    """Use Arrow's system allocator and fixed glibc thresholds, unless the user chose otherwise
    (ARROW_DEFAULT_MEMORY_POOL, MALLOC_MMAP_THRESHOLD_). Cheap; each edge calls it before it
    opens the index."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        if "pyarrow" in sys.modules:  # already imported (Streamlit imports it): switch the pool now
            import pyarrow

            pyarrow.set_memory_pool(pyarrow.system_memory_pool())
        else:  # read when pyarrow is first imported; importing it here would cost start-up time
            os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc" or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, MALLOC_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, MALLOC_THRESHOLD)
