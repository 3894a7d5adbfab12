"""Collections and watched folders (issue 26): the three targets, measured in one run.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/collections.py [--files 2000] [--collections 10]
        [--watch-files 1000] [--changed 10] [--queries 100] [--json out.json]

1. switch: two collections in one engine; questions alternating between them against questions
   repeated in one collection (models are loaded once; a switch must cost nothing).
2. watch: a folder of --watch-files files, --changed of them changed; the time `citeqa watch`
   takes from the last write to its "synced" line, against `citeqa ingest FOLDER --prune` on the
   same change (a fresh process each, as a user runs it); and the watcher's CPU while idle (--idle-s, 30).
3. scale: --collections collections of --files small files each in one data dir, against one
   collection of --files files alone in another; search p50/p95 per collection (same run, both
   open at once, their queries interleaved).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from citeqa.core.settings import Settings  # noqa: E402

WORDS = ["alpha", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "iris", "juniper", "kelp", "lumen", "mesa", "nectar", "onyx"]


def make_files(folder: Path, n: int, tag: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(tag)
    for i in range(n):
        w = rnd.sample(WORDS, 3)
        (folder / f"{tag}_{i:05}.md").write_text(
            f"# Project {tag} {i}\n\nProject {tag}-{i} uses {w[0]} sensors and a {w[1]} housing. "
            f"Its budget is {rnd.randint(10, 999)} thousand euros and its lead lives in {w[2]}ville.\n"
        )


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def settings(data: Path, **kw) -> Settings:
    return Settings(_env_file=None, data_dir=data, workers=1, **kw)


def bench_switch(tmp: Path, n: int, rounds: int = 20) -> dict:
    from citeqa.engine import Citeqa

    qa = Citeqa(settings(tmp / "switch"))
    try:
        for name in ("one", "two"):
            make_files(tmp / f"sw_{name}", n, name)
            qa.collection(name).ingest([tmp / f"sw_{name}"])
        q = "What is the budget of project {} {}?"
        qa.collection("one").ask(q.format("one", 1), generate=False)  # warm-up
        same, switched = [], []
        for i in range(rounds):
            t0 = time.perf_counter()
            qa.collection("one").ask(q.format("one", i + 2), generate=False)
            same.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            qa.collection("two").ask(q.format("two", i + 2), generate=False)  # a switch every time
            switched.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            qa.collection("two").ask(q.format("two", i + 3), generate=False)
            same.append(time.perf_counter() - t0)
            qa.collection("one").ask(q.format("one", i + 3), generate=False)  # back, untimed
    finally:
        qa.close()
    return {"files_each": n, "same_collection_p50_s": statistics.median(same),
            "first_after_switch_p50_s": statistics.median(switched)}  # fmt: skip


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "citeqa.cli", *args]


def _env(data: Path) -> dict:
    return {**os.environ, "CITEQA_DATA_DIR": str(data), "CITEQA_WORKERS": "1", "PYTHONPATH": str(REPO)}


def _change(folder: Path, k: int, round_: int) -> None:
    for p in sorted(folder.iterdir())[:k]:
        p.write_text(p.read_text() + f"\nRevision {round_}: the {WORDS[round_ % len(WORDS)]} housing was replaced.\n")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_watch(tmp: Path, n: int, changed: int, poll: bool = False, idle_s: float = 30.0) -> dict:
    folder, data = tmp / "watched", tmp / "watchdata"
    make_files(folder, n, "w")
    subprocess.run(_cmd("ingest", str(folder)), env=_env(data), check=True, capture_output=True)
    _change(folder, changed, 1)
    t0 = time.perf_counter()
    subprocess.run(_cmd("ingest", str(folder), "--prune"), env=_env(data), check=True, capture_output=True)
    ingest_s = time.perf_counter() - t0

    log = tmp / "watch.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(_cmd("watch", str(folder), *(["--poll"] if poll else [])), env=_env(data), stdout=out, stderr=subprocess.STDOUT)
    try:
        while log.read_text().count("synced") < 1:
            time.sleep(0.05)
        time.sleep(2)
        c0, t_idle = _cpu_s(proc.pid), time.perf_counter()
        time.sleep(idle_s)
        idle_cpu = (_cpu_s(proc.pid) - c0) / (time.perf_counter() - t_idle)
        _change(folder, changed, 2)
        t0 = time.perf_counter()
        while log.read_text().count("synced") < 2:
            time.sleep(0.02)
        watch_s = time.perf_counter() - t0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    return {"files": n, "changed": changed, "poll": poll, "idle_s": idle_s, "ingest_prune_s": ingest_s, "watch_sync_s": watch_s,
            "ratio": watch_s / ingest_s, "watcher_idle_cpu_share": idle_cpu, "watch_log": log.read_text()[-400:]}  # fmt: skip


def bench_scale(tmp: Path, n: int, c: int, queries: int) -> dict:
    """Search latency per collection: one collection of `n` files alone in its data dir, and `c`
    collections of `n` files each in another. Both are open at once and their queries interleaved
    (one query to each in turn), so that a busy machine slows both alike."""
    from citeqa.engine import Citeqa

    make_files(tmp / "s_c0", n, "c0")
    names = [f"c{i}" for i in range(c)]
    with Citeqa(settings(tmp / "one")) as one, Citeqa(settings(tmp / "many")) as many:
        one.collection("c0").ingest([tmp / "s_c0"])
        for name in names:
            make_files(tmp / f"s_{name}", n, name)
            many.collection(name).ingest([tmp / f"s_{name}"])
        views = {("one", "c0"): one.collection("c0"), **{("many", name): many.collection(name) for name in names}}
        for (_, name), view in views.items():
            for i in range(5):
                view.search(f"budget of project {name} {i}")
        times: dict[tuple[str, str], list[float]] = {k: [] for k in views}
        for i in range(queries):
            for (where, name), view in views.items():
                t0 = time.perf_counter()
                view.search(f"What is the budget of project {name} {(i * 7) % n}?")
                times[(where, name)].append(time.perf_counter() - t0)
    stats = {k: {"p50_s": statistics.median(v), "p95_s": pct(v, 95)} for k, v in times.items()}
    many_stats = {name: stats[("many", name)] for name in names}
    return {"files_each": n, "collections": c, "queries": queries, "one_collection": {"c0": stats[("one", "c0")]},
            "many": many_stats, "many_worst_p95_s": max(v["p95_s"] for v in many_stats.values()),
            "many_median_p95_s": statistics.median(v["p95_s"] for v in many_stats.values())}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--collections", type=int, default=10)
    ap.add_argument("--watch-files", type=int, default=1000)
    ap.add_argument("--changed", type=int, default=10)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--only", choices=["switch", "watch", "scale"])
    ap.add_argument("--poll", action="store_true", help="watch by polling (citeqa watch --poll)")
    ap.add_argument("--idle-s", type=float, default=30.0, help="seconds the idle watcher's CPU is measured over")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    out = {}
    with tempfile.TemporaryDirectory(prefix="citeqa-bench-coll-") as t:
        tmp = Path(t)
        if a.only in (None, "switch"):
            out["switch"] = bench_switch(tmp, min(a.files, 500))
            print(json.dumps(out["switch"]), flush=True)
        if a.only in (None, "watch"):
            out["watch"] = bench_watch(tmp, a.watch_files, a.changed, a.poll, a.idle_s)
            print(json.dumps({k: v for k, v in out["watch"].items() if k != "watch_log"}), flush=True)
        if a.only in (None, "scale"):
            out["scale"] = bench_scale(tmp, a.files, a.collections, a.queries)
            print(json.dumps(out["scale"]), flush=True)
    if a.json:
        a.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
