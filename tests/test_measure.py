"""bench/measure.py counts the CPU time of the whole process tree of the command it runs: the
descendants that outlive their parent too (citeqa's parser processes are children of
multiprocessing's fork server, which is still exiting when the ingest has)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO

# A child that starts a grandchild burning half a second of CPU and exits without waiting for it.
ORPHANING = (
    "import subprocess, sys\n"
    "burn = 'import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.5: pass'\n"
    "subprocess.Popen([sys.executable, '-c', burn])\n"
)


def test_cpu_time_counts_descendants_that_outlive_their_parent() -> None:
    # In a process of its own: the measuring process adopts orphans, which must not reach pytest's.
    measure = (
        "import json, sys\n"
        "from bench.measure import env, run_measured\n"
        f"r = run_measured([sys.executable, '-c', {ORPHANING!r}], env())\n"
        "print(json.dumps({'cpu_s': r['cpu_s'], 'left_running': r['left_running']}))\n"
    )
    out = subprocess.run([sys.executable, "-c", measure], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["cpu_s"] >= 0.5, f"the orphaned grandchild's half second of CPU was missed: {r['cpu_s']:.2f} s"
    assert r["left_running"] == []
