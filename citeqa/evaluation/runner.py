"""Drive an engine over a question set: retrieval hit@k and MRR per mode, abstention, answers."""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from citeqa.answer.evidence import EMBEDDED_PASSAGES, EVIDENCE_POOL
from citeqa.core.errors import ConfigError
from citeqa.core.settings import RetrievalMode
from citeqa.core.types import Answer
from citeqa.evaluation.metrics import (
    abstention_rate,
    calibrate,
    contains_answer,
    first_hit_rank,
    hit_at,
    mrr_at,
    same_file,
    unsupported_shown,
)
from citeqa.questions import Question
from citeqa.retrieval.fusion import Fusion

if TYPE_CHECKING:
    from citeqa.core.types import Retrieved
    from citeqa.engine import Citeqa

KS = (1, 5, 10)
MAX_K = 10
EVIDENCE_KS = (1, 2, 3)
GENERATE_MODES = ("never", "auto", "always")

# Evaluation variants: the three retrieval modes, plus hybrid with Milvus's RRF fusion, to compare.
VARIANTS: dict[str, tuple[RetrievalMode, Fusion | None]] = {
    "dense": ("dense", None),
    "bm25": ("bm25", None),
    "hybrid": ("hybrid", None),
    "hybrid-rrf": ("hybrid", Fusion(kind="rrf")),
}


def parse_generate_modes(spec: str) -> list[str]:
    modes = [m.strip() for m in spec.split(",") if m.strip()]
    bad = [m for m in modes if m not in GENERATE_MODES]
    if bad or not modes:
        raise ConfigError(
            f"unknown generation mode(s) {', '.join(bad) or repr(spec)}; use a comma-separated list of "
            f"{', '.join(GENERATE_MODES)}"
        )
    return list(dict.fromkeys(modes))


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
    evidence: dict[int, float] = field(default_factory=dict)  # k → evidence@k over answerable questions

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {f"hit@{k}": round(self.hit[k], 4) for k in KS}
        d.update({f"evidence@{k}": round(v, 4) for k, v in self.evidence.items()})
        d[f"mrr@{MAX_K}"] = round(self.mrr, 4)
        d["hit_curve"] = [round(self.hit[k], 4) for k in range(1, MAX_K + 1)]
        for name in ("abstained_unanswerable", "abstained_answerable", "calibrated_abstained_unanswerable"):
            v = getattr(self, name)
            d[name] = None if v is None else round(v, 4)
        d["calibrated_min_score"] = self.calibrated_min_score
        d["seconds"] = round(self.seconds, 2)
        return d


@dataclass
class KindResult:
    """Answers to the questions of one `kind` (all questions: kind "all")."""

    questions: int = 0
    answerable: int = 0
    shown: int = 0  # answers given (not abstained)
    correct: int = 0  # answers given that hold a gold answer (of answerable questions)
    abstained_answerable: int = 0
    abstained_unanswerable: int = 0

    @property
    def precision(self) -> float | None:
        """Of the answers shown, the share that holds the gold answer (one to an unanswerable
        question is wrong)."""
        return self.correct / self.shown if self.shown else None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.answerable if self.answerable else None

    def add(self, answerable: bool, abstained: bool, correct: bool) -> None:
        self.questions += 1
        self.answerable += answerable
        self.shown += not abstained
        self.correct += correct
        self.abstained_answerable += answerable and abstained
        self.abstained_unanswerable += (not answerable) and abstained

    def to_dict(self) -> dict[str, Any]:
        r = {k: v for k, v in asdict(self).items()}
        r["precision"] = None if self.precision is None else round(self.precision, 4)
        r["accuracy"] = None if self.accuracy is None else round(self.accuracy, 4)
        return r


@dataclass
class AnswerResult:
    """Answers asked with one generation mode (CITEQA_GENERATE). Shares of answerable questions
    unless said otherwise; `unsupported_shown` counts generated sentences that failed the support
    check yet appear in the generated part of an answer's text (it must be 0; a model repeating a
    quote word for word without citing it is not counted, as the quote is shown anyway)."""

    mode: str  # the generation mode
    questions: int  # questions asked, answerable and not
    answerable: int
    answer_contains_gold: float
    evidence: dict[int, float]  # evidence@k of the quotes shown
    cited_contains_gold: float
    grounded: float  # of the answers given (not abstained)
    generated: float  # share of answers with a supported generated sentence
    sentences: int  # generated sentences, all questions
    sentences_supported: float | None  # their share that passed the support check
    unsupported_shown: int
    abstained_unanswerable: float | None
    abstained_answerable: float
    seconds: float
    # precision (of the answers shown, the share holding a gold answer), accuracy and abstention,
    # overall ("all") and per question kind
    kinds: dict[str, KindResult] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)  # abstentions by `abstain_reason`

    @property
    def precision(self) -> float | None:
        return self.kinds["all"].precision if "all" in self.kinds else None

    def to_dict(self) -> dict[str, Any]:
        d = {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items() if k != "kinds"}
        d["evidence"] = {f"evidence@{k}": round(v, 4) for k, v in self.evidence.items()}
        d["precision"] = None if self.precision is None else round(self.precision, 4)
        d["kinds"] = {k: r.to_dict() for k, r in self.kinds.items()}
        return d


@dataclass
class Report:
    questions: int
    answerable: int
    unanswerable: int
    top_k: int
    min_score: float
    default_mode: str
    modes: dict[str, ModeResult] = field(default_factory=dict)
    answers: dict[str, AnswerResult] = field(default_factory=dict)
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
            "answers": {m: a.to_dict() for m, a in self.answers.items()} or None,
            "seconds": round(self.seconds, 2),
        }


def run(
    engine: Citeqa,
    questions: Sequence[Question],
    *,
    modes: Sequence[str] = ("hybrid",),
    sources: Sequence[str] = (),
    top_k: int | None = None,
    answers: Sequence[str] = (),
    on_step: Callable[[str], None] | None = None,
) -> Report:
    """Retrieval, evidence and abstention metrics for each retrieval mode; for each generation
    mode in `answers` (never, auto, always), also ask every question as `ask` would and check the
    answers (the engine's own retrieval mode).

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
        say(f"retrieving ({name})")
        report.modes[name] = _mode_result(engine, questions, name, vectors, sources=sources, k_model=k_model)
    done: dict[bool, AnswerResult] = {}
    for gen_mode in answers:
        generates = engine.generates(gen_mode)  # type: ignore[arg-type]
        if generates in done:  # "auto" is one of the other two
            report.answers[gen_mode] = dataclasses.replace(done[generates], mode=gen_mode)
            continue
        result = _answers(engine, questions, gen_mode, sources=sources, top_k=k_model, say=say)
        report.answers[gen_mode] = done[generates] = result
    report.seconds = time.perf_counter() - t0
    return report


def _mode_result(
    engine: Citeqa, questions: Sequence[Question], name: str, vectors: Any, *, sources: Sequence[str], k_model: int
) -> ModeResult:
    """Retrieval, abstention and evidence metrics of one retrieval mode."""
    t = time.perf_counter()
    retriever = engine.retriever
    mode, fusion = VARIANTS[name]
    got = retriever.retrieve_many(
        [q.question for q in questions],
        top_k=max(MAX_K, k_model, EVIDENCE_POOL),
        mode=mode,
        sources=sources,
        fusion=fusion,
        relevance_k=k_model,
        vectors=vectors,
    )
    ranks = [first_hit_rank(r.hits[:MAX_K], q) for r, q in zip(got, questions, strict=True) if q.answerable]
    # An empty result abstains too (Retriever.is_relevant): count it as relevance -inf.
    rel = [r.relevance if r.hits else -math.inf for r in got]
    rel_ans = [r for r, q in zip(rel, questions, strict=True) if q.answerable]
    rel_un = [r for r, q in zip(rel, questions, strict=True) if not q.answerable]
    cal = calibrate(rel_ans)
    evidence = _evidence_at(engine, got, questions, k_model)
    return ModeResult(
        mode=name,
        questions=len(ranks),
        hit={k: hit_at(ranks, k) for k in range(1, MAX_K + 1)},
        mrr=mrr_at(ranks, MAX_K),
        abstained_unanswerable=abstention_rate(rel_un, retriever.min_score),
        abstained_answerable=abstention_rate(rel_ans, retriever.min_score),
        calibrated_min_score=cal,
        calibrated_abstained_unanswerable=None if cal is None else abstention_rate(rel_un, cal),
        seconds=time.perf_counter() - t,
        evidence=evidence,
    )


def _evidence_at(engine: Citeqa, got: Sequence[Retrieved], questions: Sequence[Question], k: int) -> dict[int, float]:
    """Share of answerable questions whose top 1/2/3 evidence sentences, from the passages `ask`
    would search, include one holding a gold answer (from the gold file)."""
    k = max(k, EVIDENCE_POOL)
    rows = [(dataclasses.replace(r, hits=r.hits[:k]), q) for r, q in zip(got, questions, strict=True) if q.answerable]
    # One embedding batch for the passages every question embeds whole (as `ask` would, one by one).
    engine.retriever.sentence_vectors([h for r, _ in rows for h in r.hits[:EMBEDDED_PASSAGES]])
    found = dict.fromkeys(EVIDENCE_KS, 0)
    for r, q in rows:
        ev = engine.asker.select_evidence(q.question, r, limit=max(EVIDENCE_KS))
        for n in EVIDENCE_KS:
            found[n] += any(_quote_hit(e.quote, e.hit.source, q) for e in ev[:n])
    return {n: found[n] / len(rows) if rows else 0.0 for n in EVIDENCE_KS}


def _quote_hit(quote: str, source: str, q: Question) -> bool:
    return same_file(source, q.source) and contains_answer(quote, q.answers)


def _answers(
    engine: Citeqa,
    questions: Sequence[Question],
    gen_mode: str,
    *,
    sources: Sequence[str],
    top_k: int,
    say: Callable[[str], None],
) -> AnswerResult:
    t = time.perf_counter()
    gold = [q for q in questions if q.answerable]
    right = cited = grounded = generated = sentences = supported = shown_bad = 0
    given = 0
    abstained = {True: 0, False: 0}
    evidence = dict.fromkeys(EVIDENCE_KS, 0)
    kinds: dict[str, KindResult] = {"all": KindResult()}
    reasons: dict[str, int] = {}
    by_id = {q.id: q for q in questions}
    asked: dict[str, Answer] = {}

    def ask(q: Question, depth: int = 0) -> Answer:
        # A follow-up is asked after the question it follows, as a chat would ask it.
        if q.id in asked:
            return asked[q.id]
        history: list[tuple[str, str]] = []
        prev = by_id.get(q.prev) if q.prev else None
        if prev is not None and depth < 8:
            history = [("user", prev.question), ("assistant", ask(prev, depth + 1).text)]
        a = engine.ask(q.question, top_k=top_k, sources=sources, generate=gen_mode, history=history)  # type: ignore[arg-type]
        asked[q.id] = a
        return a

    for i, q in enumerate(questions, 1):
        say(f"answering ({gen_mode}) {i}/{len(questions)}")
        a = ask(q)
        if a.abstained:
            reasons[a.abstain_reason or "unknown"] = reasons.get(a.abstain_reason or "unknown", 0) + 1
        holds = bool(q.answerable) and not a.abstained and contains_answer(a.text, q.answers)
        for kind in ("all", q.kind) if q.kind else ("all",):
            kinds.setdefault(kind, KindResult()).add(bool(q.answerable), a.abstained, holds)
        abstained[bool(q.answerable)] += a.abstained
        given += not a.abstained
        grounded += a.grounded and not a.abstained
        generated += a.answer_kind == "generated"
        sentences += len(a.sentences)
        supported += sum(s.supported for s in a.sentences)
        shown_bad += unsupported_shown(a.generated, a.sentences)
        if not q.answerable:
            continue
        right += (not a.abstained) and contains_answer(a.text, q.answers)
        cited += any(_quote_hit(c.hit.text, c.hit.source, q) for c in a.citations)
        for n in EVIDENCE_KS:
            evidence[n] += any(_quote_hit(e.quote, e.hit.source, q) for e in a.evidence[:n])
    n_gold, n_un = len(gold), len(questions) - len(gold)
    return AnswerResult(
        mode=gen_mode,
        questions=len(questions),
        answerable=n_gold,
        answer_contains_gold=right / n_gold if n_gold else 0.0,
        evidence={k: v / n_gold if n_gold else 0.0 for k, v in evidence.items()},
        cited_contains_gold=cited / n_gold if n_gold else 0.0,
        grounded=grounded / given if given else 0.0,
        generated=generated / len(questions) if questions else 0.0,
        sentences=sentences,
        sentences_supported=supported / sentences if sentences else None,
        unsupported_shown=shown_bad,
        abstained_unanswerable=abstained[False] / n_un if n_un else None,
        abstained_answerable=abstained[True] / n_gold if n_gold else 0.0,
        seconds=time.perf_counter() - t,
        kinds=kinds,
        reasons=reasons,
    )
