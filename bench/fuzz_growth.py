"""The growth check: how a target's time grows from an input to the same input K times longer.

The ratio is t(K·n) / (K · t(n)): about 1 when linear, about K when quadratic. Times are the
thread's CPU time, which other processes on a busy machine do not add to (wall time under a load
of 8 on 2 cores flagged linear inputs at 6×: the longer run is preempted more often). An input
whose first ratio is over CONFIRM_ABOVE is timed again, best of several tries.
"""

from __future__ import annotations

import gc
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, seed, settings

from bench.fuzz_inputs import TEXT, K, repeated
from bench.fuzz_targets import Target

CONFIRM_ABOVE = 2.0

_clearers: list[Callable[[], None]] = []
_modules_seen = 0


def _clear_caches() -> None:
    """Empty citeqa's lru_caches (the question reader caches what it read): a timing must be of
    the work, not of a cache hit."""
    global _modules_seen
    if len(sys.modules) != _modules_seen:
        _modules_seen = len(sys.modules)
        _clearers[:] = [
            obj.cache_clear
            for name, mod in list(sys.modules.items())
            if name.startswith("citeqa") and mod is not None
            for obj in vars(mod).values()
            if callable(getattr(obj, "cache_clear", None)) and hasattr(obj, "cache_info")
        ]
    for clear in _clearers:
        clear()


def _best(fn: Callable[[], object], tries: int) -> float:
    best = math.inf
    for _ in range(tries):
        _clear_caches()
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return max(best, 1e-7)


@dataclass
class Result:
    """One target's run, filled in as it goes (mutable: the hypothesis test adds to it)."""

    name: str
    inputs: int = 0
    confirmed: int = 0  # inputs timed again because their first ratio was over CONFIRM_ABOVE
    worst: float = 0.0
    worst_input: str = ""
    seconds: float = 0.0
    over: list[tuple[float, str]] = field(default_factory=list)  # ratios over the bound, confirmed


def ratio(target: Target, s: str, tries: tuple[int, int]) -> float:
    short, long = repeated(s, target.base)
    args_short = (short, s) if target.pair else (short,)
    args_long = (long, s) if target.pair else (long,)
    one, many = target.make(*args_short), target.make(*args_long)
    # No separate warm-up run: the short input's best of two leaves out a first run's imports.
    t1 = _best(one, tries[0])
    tk = _best(many, tries[1])
    return tk / (K * t1)


def fuzz(target: Target, n: int, seed_: int, bound: float) -> Result:
    """`n` hypothesis inputs through `target`; those whose confirmed ratio is over `bound` are kept."""
    result = Result(target.name)

    @seed(seed_)
    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=["generate"],
    )
    @given(TEXT)
    def one(s: str) -> None:
        result.inputs += 1
        r = ratio(target, s, (2, 1))
        if r > CONFIRM_ABOVE:  # once more, best of five: a busy machine slows one run, not five
            result.confirmed += 1
            r = ratio(target, s, (5, 5))
        if r > result.worst:
            result.worst, result.worst_input = r, s
        if r > bound:
            result.over.append((r, s))

    t0 = time.perf_counter()
    gc.disable()  # a collection inside one timing is the commonest false alarm
    try:
        one()
    finally:
        gc.enable()
    result.seconds = time.perf_counter() - t0
    return result


def merged(parts: list[Result]) -> Result:
    """One target's results from several processes, as one."""
    out = Result(parts[0].name)
    for r in parts:
        out.inputs += r.inputs
        out.confirmed += r.confirmed
        out.seconds += r.seconds
        out.over += r.over
        if r.worst > out.worst:
            out.worst, out.worst_input = r.worst, r.worst_input
    return out
