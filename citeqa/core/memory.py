"""Freed memory goes back to the system, so that resident memory follows what citeqa holds.

The embedded index (milvus-lite) runs inside citeqa's process, in Python over Arrow: each flush
and each merge of its segments allocates, then frees, tens of MB of Arrow buffers. Arrow's default
allocator (mimalloc) keeps freed memory for reuse, so resident memory ratchets up with every
merge; its system allocator (malloc) gives large blocks back. Measured here (bench/scale.py's
documents, peak RSS of `citeqa ingest`): 20,000 files 643 → 482 MB, the six corpus PDFs 420 →
348 MB, with no measurable change in time. Fixing glibc's mmap threshold at 1 MB as well took a
little more (463 and 335 MB) but made the PDF ingest 15% slower, so it is left to the user
(MALLOC_MMAP_THRESHOLD_).
"""

from __future__ import annotations

import os
import sys


def release_freed_memory() -> None:
    """Use Arrow's system allocator, unless the user chose one (ARROW_DEFAULT_MEMORY_POOL).
    Cheap; each edge calls it before it opens the index."""
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return
    if "pyarrow" in sys.modules:  # already imported (Streamlit imports it): switch the pool now
        import pyarrow

        pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    else:  # read when pyarrow is first imported; importing it here would cost start-up time
        os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
