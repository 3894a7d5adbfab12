"""Drive an engine over a question set: retrieval hit@k and MRR per mode, abstention, answers."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from citeqa.core.errors import ConfigError
from citeqa.core.settings import RetrievalMode
from citeqa.evaluation.metrics import (
    abstention_rate,
    calibrate,
    contains_answer,
    first_hit_rank,
    hit_at,
    mrr_at,
    same_file,
)
from citeqa.questions import Question
from citeqa.retrieval.fusion import Fusion

if TYPE_CHECKING:
    from citeqa.engine import Citeqa

KS = (1, 5, 10)
MAX_K = 10

# Evaluation variants: the three retrieval modes, plus hybrid with Milvus's RRF fusion, to compare.
VARIANTS: dict[str, tuple[RetrievalMode, Fusion | None]] = {
    "dense": ("dense", None),
    "bm25": ("bm25", None),
    "hybrid": ("hybrid", None),
    "hybrid-rrf": ("hybrid", Fusion(kind="rrf")),
}


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
