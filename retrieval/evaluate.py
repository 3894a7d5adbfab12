"""Measure retrieval, abstention and (optionally) answers against a file of questions with gold answers.

Input: JSON Lines, one question per line:

    {"id": "q1", "question": "When were the Normans in Normandy?",
     "answers": ["10th and 11th centuries"], "source": "normans.txt"}

`answers` lists acceptable answer strings (empty or absent: the documents do not answer it);
`answerable` may say so explicitly; `source` names the file that answers it (compared by file
name, so the folder does not matter; absent: any file). A retrieved passage is a *hit* when it
comes from that file and contains one of the answers, ignoring case and runs of whitespace.

The metric functions are pure; `run` drives a Citeqa engine.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from citeqa.errors import CiteqaError, ConfigError
from citeqa.settings import RetrievalMode
from citeqa.types import Hit
from retrieval.store import Fusion

if TYPE_CHECKING:
    from citeqa.engine import Citeqa

KS = (1, 5, 10)
MAX_K = 10
MAX_WRONG_ABSTENTION = 0.05
_WS = re.compile(r"\s+")

# Evaluation variants: the three retrieval modes, plus hybrid with Milvus's RRF fusion, to compare.
VARIANTS: dict[str, tuple[RetrievalMode, Fusion | None]] = {
    "dense": ("dense", None),
    "bm25": ("bm25", None),
    "hybrid": ("hybrid", None),
    "hybrid-rrf": ("hybrid", Fusion(kind="rrf")),
}


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    answerable: bool
    source: str | None = None


# -- pure metrics -------------------------------------------------------------


def normalize(text: str) -> str:
    return _WS.sub(" ", text.casefold()).strip()


def contains_answer(text: str, answers: Iterable[str]) -> bool:
    norm = normalize(text)
    return any(a and a in norm for a in (normalize(x) for x in answers))


def same_file(path: str, gold: str | None) -> bool:
    """True when `path` (as stored: absolute) names the gold file; compared by file name only."""
    return gold is None or PurePath(path).name == PurePath(gold).name


def is_hit(hit: Hit, q: Question) -> bool:
    return same_file(hit.source, q.source) and contains_answer(hit.text, q.answers)


def first_hit_rank(hits: Sequence[Hit], q: Question) -> int | None:
    """1-based rank of the first hit that answers `q`, or None."""
    return next((i for i, h in enumerate(hits, 1) if is_hit(h, q)), None)


def hit_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions with an answering passage among the first k (ranks from first_hit_rank)."""
    return sum(1 for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def mrr_at(ranks: Sequence[int | None], k: int) -> float:
    return sum(1 / r for r in ranks if r is not None and r <= k) / len(ranks) if ranks else 0.0


def abstention_rate(relevances: Sequence[float], threshold: float) -> float | None:
    """Share of questions whose relevance falls below the threshold (None: no questions)."""
    return sum(1 for r in relevances if r < threshold) / len(relevances) if relevances else None


def calibrate(
    answerable_relevances: Sequence[float], max_wrong: float = MAX_WRONG_ABSTENTION
) -> float | None:
    """The highest threshold (to 3 decimals, rounded down) that abstains on at most `max_wrong`
    of the answerable questions: the most abstention the documents can afford."""
    if not answerable_relevances:
        return None
    ordered = sorted(answerable_relevances)
    allowed = math.floor(max_wrong * len(ordered))
    # Exactly `allowed` values lie strictly below ordered[allowed] (fewer with ties).
    edge = ordered[allowed]
    return math.floor(edge * 1000) / 1000 if math.isfinite(edge) else None


# -- input --------------------------------------------------------------------


def load_questions(path: Path, *, limit: int | None = None) -> list[Question]:
    out: list[Question] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CiteqaError(f"{where}: not valid JSON ({exc.msg})") from None
            if (
                not isinstance(obj, dict)
                or not isinstance(obj.get("question"), str)
                or not obj["question"].strip()
            ):
                raise CiteqaError(f"{where}: expected an object with a non-empty string field 'question'")
            answers = obj.get("answers") or []
            if isinstance(answers, str):
                answers = [answers]
            if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
                raise CiteqaError(f"{where}: 'answers' must be a list of strings")
            answerable = obj.get("answerable", bool(answers))
            if answerable and not answers:
                raise CiteqaError(f"{where}: an answerable question needs at least one answer in 'answers'")
            source = obj.get("source")
            if source is not None and not isinstance(source, str):
                raise CiteqaError(f"{where}: 'source' must be a file name")
            out.append(
                Question(
                    str(obj.get("id", lineno)), obj["question"], tuple(answers), bool(answerable), source
                )
            )
            if limit is not None and len(out) >= limit:
                break
    if not out:
        raise CiteqaError(f"{path}: no questions")
    return out


def parse_modes(spec: str) -> list[str]:
    modes = [m.strip() for m in spec.split(",") if m.strip()]
    bad = [m for m in modes if m not in VARIANTS]
    if bad or not modes:
        raise ConfigError(
            f"unknown mode(s) {', '.join(bad) or repr(spec)}; use a comma-separated list of {', '.join(VARIANTS)}"
        )
    return list(dict.fromkeys(modes))


# -- running ------------------------------------------------------------------


@dataclass
class ModeResult:
    mode: str
    questions: int  # answerable questions ranked
    hit: dict[int, float]  # k → hit@k, for k = 1..MAX_K
    mrr: float  # MRR@MAX_K
    abstained_unanswerable: float | None
    abstained_answerable: float | None
    calibrated_min_score: float | None
    calibrated_abstained_unanswerable: float | None
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {f"hit@{k}": round(self.hit[k], 4) for k in KS}
        d[f"mrr@{MAX_K}"] = round(self.mrr, 4)
        d["hit_curve"] = [round(self.hit[k], 4) for k in range(1, MAX_K + 1)]
        for name in ("abstained_unanswerable", "abstained_answerable", "calibrated_abstained_unanswerable"):
            v = getattr(self, name)
            d[name] = None if v is None else round(v, 4)
        d["calibrated_min_score"] = self.calibrated_min_score
        d["seconds"] = round(self.seconds, 2)
        return d


@dataclass
class AnswerResult:
    mode: str
    questions: int  # answerable questions asked
    answer_accuracy: float
    citation_accuracy: float
    abstained: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass
class Report:
    questions: int
    answerable: int
    unanswerable: int
    top_k: int
    min_score: float
    default_mode: str
    modes: dict[str, ModeResult] = field(default_factory=dict)
    answers: AnswerResult | None = None
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            "top_k": self.top_k,
            "min_score": self.min_score,
            "default_mode": self.default_mode,
            "retrieval": {m: r.to_dict() for m, r in self.modes.items()},
            "answers": self.answers.to_dict() if self.answers else None,
            "seconds": round(self.seconds, 2),
        }


def run(
    engine: Citeqa,
    questions: Sequence[Question],
    *,
    modes: Sequence[str] = ("hybrid",),
    sources: Sequence[str] = (),
    top_k: int | None = None,
    answers: bool = False,
    on_step: Callable[[str], None] | None = None,
) -> Report:
    """Retrieval and abstention metrics for each mode; with `answers`, also ask the chat model
    each answerable question (with the engine's own mode) and check answer and citations.

    Abstention is judged as `ask` judges it: relevance over the `top_k` passages it would give the
    model, against the configured min_score; hit@k looks further, at the first MAX_K passages."""
    t0 = time.perf_counter()
    say = on_step or (lambda _msg: None)
    retriever = engine.retriever
    k_model = top_k or engine.settings.top_k
    gold = [q for q in questions if q.answerable]
    report = Report(
        questions=len(questions),
        answerable=len(gold),
        unanswerable=len(questions) - len(gold),
        top_k=k_model,
        min_score=retriever.min_score,
        default_mode=engine.settings.retrieval,
    )
    texts = [q.question for q in questions]
    say(f"embedding {len(texts)} questions")
    # One embedding pass serves every mode.
    vectors = engine.embedder.embed_documents(texts)
    for name in modes:
        mode, fusion = VARIANTS[name]
        say(f"retrieving ({name})")
        t = time.perf_counter()
        got = retriever.retrieve_many(
            texts,
            top_k=max(MAX_K, k_model),
            mode=mode,
            sources=sources,
            fusion=fusion,
            relevance_k=k_model,
            vectors=vectors,
        )
        ranks = [
            first_hit_rank(r.hits[:MAX_K], q) for r, q in zip(got, questions, strict=True) if q.answerable
        ]
        # An empty result abstains too (Retriever.is_relevant): count it as relevance -inf.
        rel = [r.relevance if r.hits else -math.inf for r in got]
        rel_ans = [r for r, q in zip(rel, questions, strict=True) if q.answerable]
        rel_un = [r for r, q in zip(rel, questions, strict=True) if not q.answerable]
        cal = calibrate(rel_ans)
        report.modes[name] = ModeResult(
            mode=name,
            questions=len(ranks),
            hit={k: hit_at(ranks, k) for k in range(1, MAX_K + 1)},
            mrr=mrr_at(ranks, MAX_K),
            abstained_unanswerable=abstention_rate(rel_un, retriever.min_score),
            abstained_answerable=abstention_rate(rel_ans, retriever.min_score),
            calibrated_min_score=cal,
            calibrated_abstained_unanswerable=None if cal is None else abstention_rate(rel_un, cal),
            seconds=time.perf_counter() - t,
        )
    if answers and gold:
        report.answers = _answers(engine, gold, sources=sources, top_k=k_model, say=say)
    report.seconds = time.perf_counter() - t0
    return report


def _answers(
    engine: Citeqa,
    gold: Sequence[Question],
    *,
    sources: Sequence[str],
    top_k: int,
    say: Callable[[str], None],
) -> AnswerResult:
    t = time.perf_counter()
    right = cited = abstained = 0
    for i, q in enumerate(gold, 1):
        say(f"answering {i}/{len(gold)}")
        a = engine.ask(q.question, top_k=top_k, sources=sources)
        abstained += a.abstained
        right += (not a.abstained) and contains_answer(a.text, q.answers)
        cited += any(
            same_file(c.hit.source, q.source) and contains_answer(c.hit.text, q.answers) for c in a.citations
        )
    n = len(gold)
    return AnswerResult(
        engine.settings.retrieval, n, right / n, cited / n, abstained / n, time.perf_counter() - t
    )


# -- output -------------------------------------------------------------------


def _pct(v: float | None) -> str:
    return "   -" if v is None else f"{v:.3f}"


def format_table(report: Report) -> str:
    lines = [
        f"{report.questions} questions ({report.answerable} answerable, {report.unanswerable} unanswerable); "
        f"top_k {report.top_k}, min_score {report.min_score:g}; default mode {report.default_mode}",
        "",
        f"{'mode':<11} {'hit@1':>6} {'hit@5':>6} {'hit@10':>6} {'MRR@10':>6}   {'abstained: unans.':>17} {'answerable':>10}"
        f"   {'min_score for ≤5% wrong':>23} {'→ unans.':>8}",
    ]
    for name, r in report.modes.items():
        cal = "-" if r.calibrated_min_score is None else f"{r.calibrated_min_score:.3f}"
        lines.append(
            f"{name + ('*' if name == report.default_mode else ''):<11} {r.hit[1]:>6.3f} {r.hit[5]:>6.3f} {r.hit[10]:>6.3f} {r.mrr:>6.3f}"
            f"   {_pct(r.abstained_unanswerable):>17} {_pct(r.abstained_answerable):>10}"
            f"   {cal:>23} {_pct(r.calibrated_abstained_unanswerable):>8}"
        )
    lines.append("* the configured mode (CITEQA_RETRIEVAL); hit@k and MRR over answerable questions")
    if report.answers:
        a = report.answers
        lines += [
            "",
            f"answers ({a.mode}, {a.questions} answerable questions): answer accuracy {a.answer_accuracy:.3f}, "
            f"citation accuracy {a.citation_accuracy:.3f}, abstained {a.abstained:.3f}",
        ]
    lines.append(f"\n{report.seconds:.1f}s")
    return "\n".join(lines)


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
