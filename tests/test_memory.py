"""Freed memory is returned to the system: Arrow uses its system allocator (glibc thresholds: citeqa/core/memory.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
import sys
{pre}
from citeqa.core.memory import release_freed_memory
release_freed_memory()
import pyarrow as pa
print(pa.default_memory_pool().backend_name)
"""


def _backend(pre: str = "", **env: str) -> str:
    child = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | env
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(pre=pre)], env=child, capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def test_arrow_uses_the_system_allocator_whether_or_not_it_was_imported_first() -> None:
    assert _backend() == "system"
    assert _backend(pre="import pyarrow") == "system"


def test_the_users_choice_of_allocator_wins() -> None:
    pytest.importorskip("pyarrow")
    assert _backend(ARROW_DEFAULT_MEMORY_POOL="jemalloc") in {
        "jemalloc",
        "mimalloc",
    }  # jemalloc may be absent
    assert _backend(ARROW_DEFAULT_MEMORY_POOL="mimalloc") == "mimalloc"


def test_opening_citeqa_switches_the_allocator(tmp_path) -> None:
    # The Python API, the web app and the servers all open the engine; Streamlit imports pyarrow first.
    pre = f"import pyarrow\nfrom citeqa import engine\nfrom citeqa.core.settings import Settings\nengine.open_citeqa(Settings.load(data_dir={str(tmp_path)!r})).close()"
    probe = PROBE.replace("release_freed_memory()\n", "", 1).replace(
        "from citeqa.core.memory import release_freed_memory\n", ""
    )
    child = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ARROW_DEFAULT_MEMORY_POOL",) and not k.startswith("CITEQA_")
    }
    out = subprocess.run(
        [sys.executable, "-c", probe.format(pre=pre)], env=child, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "system"
