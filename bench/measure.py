"""Running a citeqa command as a user would, in a fresh child process, and measuring it: wall
time from the parent, CPU time of the child and all its descendants, peak RSS of the whole tree.

CPU time is the kernel's own account of processes that have ended and been waited for
(getrusage(RUSAGE_CHILDREN)): exact, and it includes processes too short-lived for any sampling
to see. A process adds its time, and that of the children it waited for, to its parent's account
when that parent waits for it; a process whose parent exits first is adopted by init and its time
is lost to us. citeqa's parser processes are forked by multiprocessing's fork server, which waits
for them, but the fork server itself outlives the ingest by a moment and was adopted by init:
their CPU time was missed. So this process makes itself the subreaper of its descendants
(Linux's PR_SET_CHILD_SUBREAPER): orphans are adopted by it instead, and waited for here after the
command exits. Sampling the tree with psutil instead would miss each process's last interval
before exit, and any process that lives less than an interval (a parser killed and replaced)."""

from __future__ import annotations

import contextlib
import ctypes
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
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
ORPHANS_WAIT_S = 10.0  # how long an adopted descendant may take to exit after the command


def adopt_orphans() -> bool:
    """Make this process the subreaper of its descendants (see the module's note); False where
    the system has no such thing (the CPU time of orphaned descendants is then missed)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _adopted(child: psutil.Process, seen: set[int], since: float, earlier: frozenset[int]) -> bool:
    """Whether `child` of this process is a descendant of the command measured: seen in its
    tree, or started since it began and not a child this process had before (one the poller
    never saw: on a loaded machine a parent can start it and exit within one poll)."""
    import psutil

    try:
        return child.pid in seen or (child.pid not in earlier and child.create_time() >= since)
    except psutil.Error:
        return False


def reap_adopted(
    seen: set[int], since: float, earlier: frozenset[int] = frozenset(), wait_s: float = ORPHANS_WAIT_S
) -> list[int]:
    """Wait for the descendants of a command that exited which this process adopted (`since`:
    when it began, in time.time(); `earlier`: this process's children before it began), so that
    their CPU time enters RUSAGE_CHILDREN. Returns the pids still running after `wait_s` (left
    behind)."""
    import psutil

    deadline = time.monotonic() + wait_s
    while True:
        left = []
        for c in psutil.Process().children():
            if _adopted(c, seen, since, earlier):
                with contextlib.suppress(ChildProcessError):
                    if os.waitpid(c.pid, os.WNOHANG) == (0, 0):
                        left.append(c.pid)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def env(**extra: str) -> dict[str, str]:
    """The environment for a child: no CITEQA_* setting of the caller's, no model hub."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    out.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONPATH=str(REPO))
    out.update(extra)
    return out


def citeqa(*args: str) -> list[str]:
    return [sys.executable, "-m", "citeqa.cli", *args]


def tree_rss(proc: psutil.Process, seen: set[int] | None = None) -> int:
    """Resident memory of `proc` and all its descendants, in bytes; their pids are added to `seen`."""
    import psutil

    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    if seen is not None:
        seen.update(p.pid for p in procs)
    for p in procs:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def run_measured(cmd: list[str], child_env: dict[str, str], *, check: bool = True, cwd: Path = REPO) -> dict:
    """Run `cmd`; return wall seconds, CPU seconds (the whole tree's), peak tree RSS in MB, exit
    code, stdout and stderr, and `left_running`: descendants still running 10 s after it exited."""
    import psutil

    adopt_orphans()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.time() - 1  # create_time() is rounded to clock ticks
    earlier = frozenset(c.pid for c in psutil.Process().children())
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, env=child_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd)
    peak = 0
    seen: set[int] = set()
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        ps = psutil.Process(child.pid)
        while not stop.is_set():
            peak = max(peak, tree_rss(ps, seen))
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
    seen.discard(child.pid)
    left = reap_adopted(seen, started, earlier)
    if left:
        print(f"warning: {' '.join(cmd[:5])}... left {len(left)} process(es) running: {left}", file=sys.stderr)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_rss_mb": peak / 2**20,
        "rc": child.returncode,
        "stdout": out,
        "stderr": err,
        "left_running": left,
    }
