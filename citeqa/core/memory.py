"""Freed memory goes back to the system, so that resident memory follows what citeqa holds.

The embedded index (milvus-lite) runs inside citeqa's process, in Python over Arrow: each flush
and each merge of its segments allocates, then frees, tens of MB of Arrow buffers. Arrow's default
allocator (mimalloc) keeps freed memory for reuse, and glibc raises its mmap threshold after the
first large free, after which large blocks come from heaps it seldom shrinks; either way resident
memory ratchets up with every merge. Measured here (bench/scale.py's documents, peak RSS of
`citeqa ingest`): 20,000 files 643 → 492 MB, the six corpus PDFs 420 → 340 MB, with no
measurable change in files/s.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import sys

# Blocks at least this large get their own mapping, returned to the system when freed; and the
# top of the heap is given back once this much of it is free.
MMAP_THRESHOLD = 1 << 20
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def release_freed_memory() -> None:
    """Use Arrow's system allocator and a fixed glibc mmap threshold, unless the user chose
    otherwise (ARROW_DEFAULT_MEMORY_POOL, MALLOC_MMAP_THRESHOLD_). Cheap; call it at each edge."""
    if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        if "pyarrow" in sys.modules:  # already imported (Streamlit imports it): switch the pool now
            import pyarrow

            pyarrow.set_memory_pool(pyarrow.system_memory_pool())
        else:  # read by pyarrow when it is first imported; importing it here would cost start-up time
            os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc" or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
        libc.mallopt(_M_TRIM_THRESHOLD, MMAP_THRESHOLD)
