"""bench/answer.py's results: one `Run` per answer, their medians and paired ratios (`summarize`),
and the report printed at the end (`print_report`); with the fixed setup every system runs with."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

N_THREADS = 1
N_CTX = 4096
TOP_K = 4
SYSTEMS = ("citeqa", "before", "direct", "langchain")


@dataclass
class Run:
    """One answer by one system. Times in seconds; None where the system does not report it."""

    system: str
    question: int  # 1-based index into the question list
    round: int  # 1-based
    ttft_s: float | None
    gen_tokens: int
    gen_tps: float | None  # wall clock, first streamed piece to last
    gen_cpu_tps: float | None  # the same over the streaming thread's CPU time: blind to other processes
    total_s: float
    retrieve_s: float | None = None
    prompt_tokens: int | None = None
    prompt_eval_tokens: int | None = None
    after_last_s: float | None = None  # citeqa: last streamed piece to the checked, cited Answer
    model_called: bool = True  # False: citeqa abstained on retrieval relevance (min_score) alone
    evidence_s: float | None = None  # citeqa: when the evidence answer (its first piece) was shown
    text: str = ""  # as streamed


# -- reporting ----------------------------------------------------------------------


METRICS = (
    "retrieve_s",
    "prompt_tokens",
    "prompt_eval_tokens",
    "ttft_s",
    "gen_tokens",
    "gen_tps",
    "gen_cpu_tps",
    "total_s",
    "after_last_s",
    "evidence_s",
)


def median(values: Iterable[float | int | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v: float | int | None, spec: str, width: int = 0) -> str:
    return ("-" if v is None else format(v, spec)).rjust(width)


def paired_ratio(runs: list[Run], a: str, b: str, metric: str) -> float | None:
    """Median over (question, round) of a's metric over b's: each pair ran back to back.

    Runs where citeqa abstained without calling the model are left out: no token was generated."""
    by_key = {(r.system, r.question, r.round): getattr(r, metric) for r in runs if r.model_called}
    ratios = []
    for (system, qi, rnd), x in by_key.items():
        y = by_key.get((b, qi, rnd))
        if system == a and x is not None and y:
            ratios.append(x / y)
    return median(ratios)


@dataclass
class Summary:
    per_question: list[dict[str, Any]] = field(default_factory=list)
    medians: dict[str, dict[str, float | None]] = field(default_factory=dict)
    ratios: dict[str, float | None] = field(default_factory=dict)
    prompt_eval: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, bool | None] = field(default_factory=dict)


def summarize(runs: list[Run], questions: Sequence[str]) -> Summary:
    s = Summary()
    for qi, q in enumerate(questions, 1):
        row: dict[str, Any] = {"question": qi, "text": q}
        for system in SYSTEMS:
            mine = [r for r in runs if r.system == system and r.question == qi and r.model_called]
            row[system] = {m: median(getattr(r, m) for r in mine) for m in METRICS}
        row["citeqa_abstained_rounds"] = sum(
            1 for r in runs if r.system == "citeqa" and r.question == qi and not r.model_called
        )
        # Round 1 is what shows the cold start: question 1 evaluates its whole prompt.
        row["citeqa"]["prompt_eval_tokens_round1"] = next(
            (
                r.prompt_eval_tokens
                for r in runs
                if r.system == "citeqa" and r.question == qi and r.round == 1
            ),
            None,
        )
        s.per_question.append(row)
    for system in SYSTEMS:
        mine = [r for r in runs if r.system == system and r.model_called]
        s.medians[system] = {m: median(getattr(r, m) for r in mine) for m in METRICS}

    s.ratios = {
        "citeqa_over_direct_gen_tps": paired_ratio(runs, "citeqa", "direct", "gen_tps"),
        "citeqa_over_direct_gen_cpu_tps": paired_ratio(runs, "citeqa", "direct", "gen_cpu_tps"),
        "citeqa_over_langchain_ttft": paired_ratio(runs, "citeqa", "langchain", "ttft_s"),
        "before_over_langchain_ttft": paired_ratio(runs, "before", "langchain", "ttft_s"),
        "citeqa_over_before_ttft": paired_ratio(runs, "citeqa", "before", "ttft_s"),
        "citeqa_over_before_prompt_tokens": paired_ratio(runs, "citeqa", "before", "prompt_tokens"),
        "citeqa_over_direct_ttft": paired_ratio(runs, "citeqa", "direct", "ttft_s"),
    }
    r1 = sorted((r for r in runs if r.system == "citeqa" and r.round == 1), key=lambda r: r.question)
    reused = [
        r.prompt_tokens - r.prompt_eval_tokens
        for r in r1[1:]
        if r.prompt_tokens is not None and r.prompt_eval_tokens is not None
    ]
    s.prompt_eval = {
        "round1": [
            {"question": r.question, "prompt_tokens": r.prompt_tokens, "evaluated": r.prompt_eval_tokens}
            for r in r1
        ],
        "q1_prompt_tokens": r1[0].prompt_tokens if r1 else None,
        "q1_evaluated": r1[0].prompt_eval_tokens if r1 else None,
        "later_reused_median": median(reused),
    }
    tps = s.ratios["citeqa_over_direct_gen_tps"]
    ttft = s.ratios["citeqa_over_langchain_ttft"]
    evidence = s.medians["citeqa"].get("evidence_s")
    s.targets = {
        "gen_tps_within_10pct_of_direct": None if tps is None else tps >= 0.9,
        "ttft_at_most_half_of_langchain": None if ttft is None else ttft <= 0.5,
        "evidence_within_1s": None if evidence is None else evidence <= 1.0,
    }
    return s


def verdict(ok: bool | None) -> str:
    return "no data" if ok is None else ("met" if ok else "MISSED")


def print_report(s: Summary, max_tokens: int, rounds: int) -> None:
    print(
        f"\nMedians over {rounds} round(s). n_threads={N_THREADS} for every system (llama.cpp threads busy-wait; "
        f"on a small shared machine more threads run slower), n_ctx={N_CTX}, max_tokens={max_tokens}, "
        f"temperature 0, top {TOP_K} passages.\n"
        "evaluated: prompt tokens llama.cpp evaluated for citeqa in round 1, the rest came from its KV cache. "
        "tok/s: generated tokens per second of wall clock; cpu tok/s: per second of the streaming "
        "thread's CPU time. after: last token to the checked, cited answer.\n"
    )
    head = (
        f"{'q':>2}  {'system':<9} {'retrieve':>8} {'prompt':>6} {'evaluated':>9} {'ttft_s':>7} "
        f"{'gen_tok':>7} {'tok/s':>6} {'cpu tok/s':>9} {'total_s':>7} {'after':>6}"
    )
    print(head)
    print("-" * len(head))
    for row in s.per_question:
        skipped = row["citeqa_abstained_rounds"]
        note = f"  [citeqa abstained before the model in {skipped} round(s)]" if skipped else ""
        print(f"{row['question']:>2}  {row['text']}{note}")
        for system in SYSTEMS:
            m = row[system]
            print(
                f"{'':>2}  {system:<9} {fmt(m['retrieve_s'], '.3f', 8)} {fmt(m['prompt_tokens'], '.0f', 6)} "
                f"{fmt(m.get('prompt_eval_tokens_round1'), 'd', 9)} {fmt(m['ttft_s'], '.2f', 7)} "
                f"{fmt(m['gen_tokens'], '.0f', 7)} {fmt(m['gen_tps'], '.1f', 6)} {fmt(m['gen_cpu_tps'], '.1f', 9)} "
                f"{fmt(m['total_s'], '.2f', 7)} {fmt(m['after_last_s'], '.2f', 6)}"
            )
    print("\nSummary: medians over all questions and rounds")
    for system in SYSTEMS:
        m = s.medians[system]
        print(
            f"  {system:<9} retrieve {fmt(m['retrieve_s'], '.3f')} s, prompt {fmt(m['prompt_tokens'], '.0f')} tokens, "
            f"ttft {fmt(m['ttft_s'], '.2f')} s, generation {fmt(m['gen_tps'], '.1f')} tok/s "
            f"({fmt(m['gen_cpu_tps'], '.1f')} per CPU second), total {fmt(m['total_s'], '.2f')} s"
        )
    pe = s.prompt_eval
    print(
        f"  citeqa prompt tokens evaluated in round 1: q1 {pe['q1_evaluated']} of {pe['q1_prompt_tokens']}; "
        + ", ".join(f"q{d['question']} {d['evaluated']} of {d['prompt_tokens']}" for d in pe["round1"][1:])
    )
    print(
        f"  prompt tokens reused from the KV cache by questions 2+ (median): {fmt(pe['later_reused_median'], '.0f')}"
    )
    r, t = s.ratios, s.targets
    print("Ratios: medians of back-to-back pairs (same question, same round)")
    print(
        f"  citeqa / direct generation tok/s:        {fmt(r['citeqa_over_direct_gen_tps'], '.3f')}  "
        f"target >= 0.90: {verdict(t['gen_tps_within_10pct_of_direct'])}"
    )
    print(f"  citeqa / direct generation cpu tok/s:    {fmt(r['citeqa_over_direct_gen_cpu_tps'], '.3f')}")
    print(
        f"  citeqa / langchain time to first token:  {fmt(r['citeqa_over_langchain_ttft'], '.3f')}  "
        f"target <= 0.50: {verdict(t['ttft_at_most_half_of_langchain'])}"
    )
    print(f"  before / langchain time to first token:  {fmt(r['before_over_langchain_ttft'], '.3f')}  (whole passages)")
    print(f"  citeqa / before time to first token:     {fmt(r['citeqa_over_before_ttft'], '.3f')}")
    print(f"  citeqa / before prompt tokens:           {fmt(r['citeqa_over_before_prompt_tokens'], '.3f')}")
    print(
        f"  citeqa evidence answer shown after (median): {fmt(s.medians['citeqa'].get('evidence_s'), '.3f')} s  "
        f"target <= 1 s: {verdict(t['evidence_within_1s'])}"
    )
    print(
        f"  citeqa / direct time to first token:     {fmt(r['citeqa_over_direct_ttft'], '.3f')}  (direct: no retrieval)"
    )


# -- main -----------------------------------------------------------------------------
