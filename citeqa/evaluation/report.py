"""The evaluation report as a table, and hit@k curves as a PNG."""

from __future__ import annotations

from pathlib import Path

from citeqa.core.errors import CiteqaError, ConfigError
from citeqa.evaluation.runner import MAX_K, Report


def _pct(v: float | None) -> str:
    return "   -" if v is None else f"{v:.3f}"


def format_table(report: Report) -> str:
    lines = [
        f"{report.questions} questions ({report.answerable} answerable, {report.unanswerable} unanswerable); "
        f"top_k {report.top_k}, min_score {report.min_score:g}; default mode {report.default_mode}",
        "",
        f"{'mode':<11} {'hit@1':>6} {'hit@5':>6} {'hit@10':>6} {'MRR@10':>6}   {'ev@1':>5} {'ev@2':>5} {'ev@3':>5}"
        f"   {'abstained: unans.':>17} {'answerable':>10}   {'min_score for ≤5% wrong':>23} {'→ unans.':>8}",
    ]
    for name, r in report.modes.items():
        cal = "-" if r.calibrated_min_score is None else f"{r.calibrated_min_score:.3f}"
        lines.append(
            f"{name + ('*' if name == report.default_mode else ''):<11} {r.hit[1]:>6.3f} {r.hit[5]:>6.3f} {r.hit[10]:>6.3f} {r.mrr:>6.3f}"
            f"   {r.evidence.get(1, 0):>5.3f} {r.evidence.get(2, 0):>5.3f} {r.evidence.get(3, 0):>5.3f}"
            f"   {_pct(r.abstained_unanswerable):>17} {_pct(r.abstained_answerable):>10}"
            f"   {cal:>23} {_pct(r.calibrated_abstained_unanswerable):>8}"
        )
    lines.append(
        "* the configured mode (CITEQA_RETRIEVAL); hit@k, MRR and evidence@k (ev@k: the top k evidence "
        "sentences hold a gold answer) over answerable questions"
    )
    if report.answers:
        lines += ["", *_answers_table(report)]
    lines.append(f"\n{report.seconds:.1f}s")
    return "\n".join(lines)


def _answers_table(report: Report) -> list[str]:
    lines = [
        f"answers (CITEQA_GENERATE)  {'gold in answer':>14} {'ev@1':>5} {'ev@2':>5} {'cited gold':>10} {'grounded':>8}"
        f" {'generated':>9} {'sentences ok':>12} {'unsupported shown':>17} {'abstained: unans.':>17} {'answerable':>10}"
    ]
    for mode, a in report.answers.items():
        ok = "-" if a.sentences_supported is None else f"{a.sentences_supported:.3f} of {a.sentences}"
        lines.append(
            f"{mode:<26} {a.answer_contains_gold:>14.3f} {a.evidence[1]:>5.3f} {a.evidence[2]:>5.3f}"
            f" {a.cited_contains_gold:>10.3f} {a.grounded:>8.3f} {a.generated:>9.3f} {ok:>12} {a.unsupported_shown:>17}"
            f" {_pct(a.abstained_unanswerable):>17} {a.abstained_answerable:>10.3f}"
        )
    first = next(iter(report.answers.values()))
    lines.append(f"({first.questions} questions, {first.answerable} answerable)")
    for mode, a in report.answers.items():
        lines += ["", f"by kind ({mode})  {'questions':>9} {'shown':>5} {'precision':>9} {'accuracy':>8}"
                  f" {'abstained: answerable':>21} {'unanswerable':>12}"]
        for kind, r in a.kinds.items():
            unans = r.questions - r.answerable
            lines.append(
                f"{kind:<16} {r.questions:>9} {r.shown:>5} {_pct(r.precision):>9} {_pct(r.accuracy):>8}"
                f" {f'{r.abstained_answerable} of {r.answerable}':>21} {f'{r.abstained_unanswerable} of {unans}':>12}"
            )
        if a.reasons:
            lines.append("abstained because: " + ", ".join(f"{k} {v}" for k, v in sorted(a.reasons.items())))
    return lines


def plot(report: Report, path: Path) -> None:
    """hit@k for k = 1..10, one curve per mode."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed, and none is touched
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(
            "--plot needs matplotlib: pip install 'citeqa[dev]' (or pip install matplotlib)"
        ) from None
    fig, ax = plt.subplots(figsize=(6, 4), dpi=120)
    ks = list(range(1, MAX_K + 1))
    for name, r in report.modes.items():
        ax.plot(ks, [r.hit[k] for k in ks], marker="o", label=name)
    ax.set_xlabel("k (passages retrieved)")
    ax.set_ylabel("hit@k (answerable questions)")
    ax.set_xticks(ks)
    ax.set_title(f"Retrieval hit@k, {report.answerable} answerable questions")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise CiteqaError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        plt.close(fig)
