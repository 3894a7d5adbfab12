"""Running a citeqa command as a user would, in a fresh child process, and measuring it: wall
time from the parent, CPU time of the child and its descendants, peak RSS of the whole tree."""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psutil

REPO = Path(__file__).resolve().parents[1]


def env(**extra: str) -> dict[str, str]:
    """The environment for a child: no CITEQA_* setting of the caller's, no model hub."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    out.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(REPO))
    out.update(extra)
    return out


def citeqa(*args: str) -> list[str]:
    return [sys.executable, "-m", "citeqa.cli", *args]


def tree_rss(proc: psutil.Process) -> int:
    """Resident memory of `proc` and all its descendants, in bytes."""
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run_measured(cmd: list[str], child_env: dict[str, str], *, check: bool = True) -> dict:
    """Run `cmd`; return wall seconds, CPU seconds, peak tree RSS in MB, exit code and stdout."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    peak = 0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        ps = psutil.Process(child.pid)
        while not stop.is_set():
            peak = max(peak, tree_rss(ps))
            stop.wait(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    out, err = child.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    poller.join()
    if check and child.returncode != 0:
        sys.stderr.write(err[-4000:])
        raise SystemExit(f"{' '.join(cmd[:5])}... exited {child.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak / 2**20, "rc": child.returncode, "stdout": out, "stderr": err}
