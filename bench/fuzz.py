"""Fuzz the text handling that untrusted input reaches for time that grows faster than linearly.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/fuzz.py [--inputs 100000] [--seed 0] [--only clean_text,globs]

Hypothesis generates short strings, from tokens that matter to the code under test (blanks, line
breaks, hyphens, dots, brackets, stars, tags, question words) and from any characters. Each is
repeated to about `base` characters and to K times that, and the target is timed on both: a
linear target takes about K times as long on the longer, a quadratic one K² times. The ratio
printed is t(K·n) / (K · t(n)): about 1 when linear, about K when quadratic. The targets' inputs
are shared out to `--jobs` processes (the CPU count by default), each its own share of every
target. Issue 22's "Why" cases (blank runs, hyphen chains, starred globs) are all found by it on
the code before the fixes; see bench/README.md.

The parts: bench/fuzz_inputs.py (what is generated), bench/fuzz_targets.py and fuzz_files.py (what
is timed), bench/fuzz_growth.py (the timing and the ratio); this file shares the work out and
reports. `check(n, seed)` is the same run in-process, for the slow test (tests/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: bench/ is on the path, not the repository
    sys.path.insert(0, str(REPO))

from bench.fuzz_files import generated_files  # noqa: E402
from bench.fuzz_growth import Result, fuzz, merged  # noqa: E402
from bench.fuzz_inputs import K  # noqa: E402
from bench.fuzz_targets import TARGETS, Target  # noqa: E402

__all__ = ["TARGETS", "K", "Result", "Target", "check", "main"]


def _shard(index: int, n: int, seed_: int, bound: float) -> Result:
    """One process's share of the inputs of TARGETS[index] (an index: the targets are closures,
    which do not pickle; a forked worker has the same TARGETS)."""
    with generated_files():
        return fuzz(TARGETS[index], n, seed_, bound)


def check(
    total: int, seed_: int = 0, bound: float = 4.0, only: set[str] | None = None, jobs: int = 1
) -> list[Result]:
    """Fuzz each target with its share of `total` inputs (at least 20 each), in `jobs` processes
    (each its own seed and share of every target; 1: in this process)."""
    chosen = [i for i, t in enumerate(TARGETS) if only is None or t.name in only]
    weights = sum(TARGETS[i].weight for i in chosen)
    counts = [max(20, round(total * TARGETS[i].weight / weights)) for i in chosen]
    if jobs <= 1:
        return [_shard(i, n, seed_, bound) for i, n in zip(chosen, counts, strict=True)]
    # Forked: the workers inherit the targets as they are (a test's stand-in target included).
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [
            [pool.submit(_shard, i, n // jobs + (k < n % jobs), seed_ * 1000 + k, bound) for k in range(jobs)]
            for i, n in zip(chosen, counts, strict=True)
        ]
        return [merged([f.result() for f in parts]) for parts in futures]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--inputs", type=int, default=100_000, help="inputs in all, shared by the targets' weights"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bound", type=float, default=4.0, help="a confirmed ratio over this fails the run")
    ap.add_argument(
        "--only", default="", help="comma-separated targets: " + ",".join(t.name for t in TARGETS)
    )
    ap.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: the CPU count)"
    )
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    print(
        f"K = {K}: ratio t(K·n) / (K·t(n)), about 1 when linear, about {K} when quadratic; bound {args.bound}"
    )
    print(f"{'target':<12}{'inputs':>9}{'retimed':>9}{'worst':>8}{'seconds':>9}  worst input")
    started = time.perf_counter()
    results = check(args.inputs, args.seed, args.bound, only, args.jobs)
    wall = time.perf_counter() - started
    for r in results:
        print(
            f"{r.name:<12}{r.inputs:>9,}{r.confirmed:>9,}{r.worst:>8.2f}{r.seconds:>9.1f}  {r.worst_input[:40]!r}"
        )
    total = sum(r.inputs for r in results)
    over = [(r.name, ratio, s) for r in results for ratio, s in r.over]
    print(
        f"{total:,} inputs in {wall:.0f} s ({args.jobs} processes, {sum(r.seconds for r in results):.0f} s "
        f"of theirs); {len(over)} over the bound"
    )
    for name, ratio, s in sorted(over, key=lambda o: -o[1])[:20]:
        print(f"  {name}: {ratio:.2f} on {s[:60]!r}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
