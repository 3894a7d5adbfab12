"""bench/fuzz.py on a small budget: no target's time grows faster than linearly on any of about
2,000 generated inputs (the full run, 100,000 inputs, is in bench/README.md)."""

from __future__ import annotations

import pytest

pytest.importorskip("hypothesis")

from bench import fuzz

pytestmark = pytest.mark.slow  # growth ratios of CPU time (bench/fuzz_growth.py): another worker does not skew them


def test_no_generated_input_takes_more_than_linear_time() -> None:
    results = fuzz.check(2000, seed_=1, bound=4.0)
    assert {r.name for r in results} == {t.name for t in fuzz.TARGETS}
    assert sum(r.inputs for r in results) >= 2000
    over = {r.name: r.over[:3] for r in results if r.over}
    assert not over, over


def test_the_fuzzer_finds_a_quadratic_target(monkeypatch: pytest.MonkeyPatch) -> None:
    """The measure itself: `[ \\t]+\\n` over a run of blanks (clean_text before issue 22) is
    flagged, so a pass above means something."""
    import re

    quadratic = re.compile(r"[ \t]+\n")
    target = fuzz.Target("old_clean_text", lambda x: lambda: quadratic.sub("\n", x), 1.0, 1000)
    monkeypatch.setattr(fuzz, "TARGETS", (target,))
    (result,) = fuzz.check(60, seed_=1, bound=4.0)
    assert result.over and result.worst > 4.0, result
