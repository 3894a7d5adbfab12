"""From a question, its passages and their evidence to an `AnswerStream`: evidence first, then
generated sentences that passed the support check, or the one "not in your documents" message.

Abstention is decided here and nowhere else (`Policy`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from citeqa.answer.citations import best_quote, looks_abstained, parse_markers, strip_invalid
from citeqa.answer.evidence import shown_count
from citeqa.answer.evidence_text import window
from citeqa.answer.model_gate import ModelGate, wait_for_turn
from citeqa.answer.prompt import NOT_IN_DOCS, evidence_prompt, quote_stops
from citeqa.answer.sentence_buffer import SentenceBuffer
from citeqa.answer.stream import AnswerStream
from citeqa.answer.support import SupportCheck, strip_places
from citeqa.core.events import Done, Draft, Event, EvidenceReady, SentenceChecked, Waiting, text_of
from citeqa.core.types import AbstainReason, Answer, AnswerKind, Citation, Evidence, Hit, Sentence, Timings

if TYPE_CHECKING:
    from citeqa.answer.generator import Generator, Prompt

Plan = Literal["abstain", "show", "hold"]

EVIDENCE_HEADER = "Quoted from your documents:"
GENERATED_HEADER = "\n\nIn short: "
CUT_NOTE = "\n\n(The model's answer was cut at CITEQA_MAX_TOKENS tokens.)"


@dataclass(frozen=True)
class Policy:
    """When citeqa says the documents do not answer: the one place that decides.

    Before generating: abstain when no passage is relevant enough (`relevant`: the retriever's
    CITEQA_MIN_SCORE test) or there is no evidence; when the best evidence scores under
    `weak_evidence`, hold it back and let the model decide (or abstain, with generation off).
    After generating held-back evidence: abstain unless some generated sentence was supported and
    the model did not say the documents lack the answer. Evidence already shown stays the answer
    whatever the model writes (its text cannot be taken back from a stream, and a strong match
    is a better signal than a small model's refusal)."""

    # On SQuAD with `citeqa eval --answers never` (generation off, so weak evidence abstains):
    # wrongly abstains on 4.9% of answerable questions and abstains on 12.3% of unanswerable ones
    # (with the evidence scorer before stemming, number and neighbour terms: 5.5% and 13.4%). 0.635
    # is the highest that keeps wrong abstention at most 5% (5.0% / 12.5%); 0.6 leaves a margin.
    weak_evidence: float = 0.6

    def before(
        self, relevant: bool, evidence: Sequence[Evidence], generate: bool, reason: AbstainReason | None = None
    ) -> Plan:
        if reason is not None or not relevant or not evidence:
            return "abstain"
        if evidence[0].score < self.weak_evidence:
            return "hold" if generate else "abstain"
        return "show"

    def after(self, plan: Plan, model_abstained: bool, supported: int) -> AnswerKind:
        if plan == "abstain" or (plan == "hold" and (model_abstained or not supported)):
            return "abstained"
        return "generated" if supported else "extractive"


@dataclass(frozen=True)
class Clock:
    """When the question came (perf_counter) and the seconds retrieval and evidence took."""

    t0: float
    retrieve_s: float
    evidence_s: float


def abstention(missing: str | None = None) -> str:
    """The one "not in your documents" message, naming the subject the documents never mention
    when that is why."""
    return NOT_IN_DOCS + (f" Your documents do not mention {missing}." if missing else "")


def evidence_text(evidence: Sequence[Evidence]) -> str:
    """The evidence answer as shown: each quote with its [n], file and page."""
    lines = [f"[{e.n}] “{' '.join(e.quote.split())}” ({e.label()})" for e in evidence]
    return "\n".join([EVIDENCE_HEADER, *lines])


def answer_text(quoted: str, generated: str, cut: bool = False) -> str:
    """The answer's text from its parts (`Answer.quoted`, `Answer.generated`): the one place they
    are put together, so that no reader has to take the text apart again."""
    return quoted + (GENERATED_HEADER + generated if generated else "") + (CUT_NOTE if cut else "")


class Answerer:
    def __init__(self, check: SupportCheck, *, policy: Policy | None = None, shown: int = 2, window: int = 1) -> None:
        self.check = check
        self.policy = policy or Policy()
        # Evidence sentences shown (and given to the model): up to `shown`, those after the best
        # only if not far weaker, and one more when it scores nearly as well as the best
        # (citeqa.answer.evidence.shown_count).
        self.shown = shown
        self.window = window  # sentences on each side of an evidence sentence in the prompt

    def stream(
        self,
        question: str,
        hits: Sequence[Hit],
        evidence: Sequence[Evidence],
        *,
        relevant: bool,
        clock: Clock,
        model: Callable[[], Generator] | None = None,
        turns: ModelGate | None = None,
        temperature: float | None = None,
        standalone: str | None = None,
        abstain: AbstainReason | None = None,
        missing: str | None = None,
    ) -> AnswerStream:
        """`model` loads the chat model when first called (after the evidence is out); None: no
        generation. `abstain`: the documents were already found not to answer (and why); `missing`:
        the name they never mention, when that is why."""
        sources = tuple(hits)
        plan = self.policy.before(relevant, evidence, model is not None, abstain)
        shown = tuple(evidence[: shown_count(evidence, self.shown)]) if plan != "abstain" else ()
        why = abstain or ("no_relevant_passage" if not relevant else "no_sentence_states_value")
        job = _AnswerInProgress(self, question, sources, shown, plan, clock, standalone, why, missing)

        def run(stopped: Callable[[], bool]) -> Iterator[Event]:
            yield EvidenceReady(shown, sources, evidence_text(shown) if plan == "show" else "")
            if plan != "abstain" and model is not None:
                yield from job.generate(model, turns or ModelGate(1), temperature, stopped)
            answer = job.answer()
            yield Done(answer, answer.text[len(job.streamed) :])

        return AnswerStream(question, sources, shown, run, job.partial)


class _AnswerInProgress:
    """One answer being made: what was shown, generated and checked so far."""

    def __init__(
        self,
        answerer: Answerer,
        question: str,
        sources: tuple[Hit, ...],
        shown: tuple[Evidence, ...],
        plan: Plan,
        clock: Clock,
        standalone: str | None,
        why: AbstainReason,
        missing: str | None,
    ) -> None:
        self.answerer = answerer
        self.question = question
        self.sources = sources
        self.shown = shown
        self.plan = plan
        self.clock = clock
        self.standalone = standalone
        self.why = why  # the reason given if this answer abstains
        self.missing = missing
        self.streamed = evidence_text(shown) if plan == "show" else ""
        self.sentences: list[Sentence] = []
        # Passage numbers whose quotes the prompt kept: an uncited sentence is checked against these.
        self.given: tuple[int, ...] = ()
        self.invalid = 0
        self.model_abstained = False
        self.truncated = False
        self.wait_s: float | None = None
        self.first_s: float | None = None

    def generate(
        self, model: Callable[[], Generator], turns: ModelGate, temperature: float | None, stopped: Callable[[], bool]
    ) -> Iterator[Event]:
        turn = None
        try:
            for item in wait_for_turn(turns, stopped):
                if isinstance(item, int):
                    yield Waiting(item)
                else:
                    turn = item
            if turn is None:
                return  # stopped while waiting
            gen = model()
            quotes = self.quotes()
            prompt, quotes = evidence_prompt(gen, self.standalone or self.question, quotes)
            self.given = tuple(n for n, _ in quotes)
            self.wait_s = time.perf_counter() - self.clock.t0
            yield from self._tokens(gen, prompt, quote_stops(quotes), temperature, stopped)
        finally:
            if turn is not None:
                turn.release()

    def _tokens(
        self, gen: Generator, prompt: Prompt, stops: list[str], temperature: float | None, stopped: Callable[[], bool]
    ) -> Iterator[Event]:
        buffer = SentenceBuffer()
        pieces = gen.stream(prompt, temperature=temperature, stop=stops)
        n = 0
        try:
            for piece in pieces:
                if self.first_s is None:
                    self.first_s = time.perf_counter() - self.clock.t0
                n += 1
                yield Draft(piece)
                for sentence in buffer.feed(piece):
                    yield from self._checked(sentence)
                if stopped() or self.model_abstained:
                    return
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()
        self.truncated = n >= gen.max_tokens
        for sentence in buffer.flush():
            yield from self._checked(sentence)

    def _checked(self, raw: str) -> Iterator[Event]:
        if not self.sentences and looks_abstained(raw):
            self.model_abstained = True
            return
        text, removed = strip_invalid(strip_places(raw), len(self.sources))
        self.invalid += removed
        if not text.strip():
            return
        sentence = self.answerer.check.check(text.strip(), self.sources, given=self.given)
        first = not any(s.supported for s in self.sentences)
        self.sentences.append(sentence)
        piece = ""
        if sentence.supported and self.plan == "show":
            piece = (GENERATED_HEADER if first else " ") + sentence.text
            self.streamed += piece
        yield SentenceChecked(sentence, piece)

    def quotes(self) -> list[tuple[int, str]]:
        return evidence_quotes(self.shown, self.sources, self.answerer.window)

    # -- the answer ------------------------------------------------------------

    def kind(self) -> AnswerKind:
        return self.answerer.policy.after(self.plan, self.model_abstained, sum(s.supported for s in self.sentences))

    def answer(self) -> Answer:
        """The answer once the stream has run to its end."""
        kind = self.kind()
        if kind == "abstained":
            return self._answer(kind, abstention(self.missing))
        quoted = evidence_text(self.shown)
        generated = " ".join(s.text for s in self.sentences if s.supported)
        text = answer_text(quoted, generated, cut=self.truncated and kind == "generated")
        return self._answer(kind, text, quoted, generated)

    def partial(self, shown: Sequence[Event]) -> Answer:
        """The answer as far as it was shown when the stream was closed early: `shown` are the
        events whose text had reached the reader (the evidence, then supported sentences)."""
        text = "".join(text_of(e) for e in shown)
        if not text:
            return self._answer("abstained", abstention(self.missing)) if self.plan == "abstain" else self._answer("extractive", "")
        quoted = "".join(e.text for e in shown if isinstance(e, EvidenceReady))
        generated = " ".join(e.sentence.text for e in shown if isinstance(e, SentenceChecked) and e.text)
        return self._answer("generated" if generated else "extractive", text, quoted, generated)

    def _answer(self, kind: AnswerKind, text: str, quoted: str = "", generated: str = "") -> Answer:
        abstained = kind == "abstained"
        now = time.perf_counter() - self.clock.t0
        return Answer(
            question=self.question,
            text=text,
            abstained=abstained,
            sources=self.sources,
            citations=() if abstained else self._citations(text),
            sentences=tuple(self.sentences),
            grounded=not abstained,
            invalid_citations=self.invalid,
            timings=Timings(
                retrieve_s=self.clock.retrieve_s,
                evidence_s=self.clock.evidence_s,
                wait_s=self.wait_s,
                first_token_s=self.first_s,
                total_s=now,
            ),
            standalone_question=self.standalone,
            evidence=() if abstained else self.shown,
            answer_kind=kind,
            truncated=self.truncated,
            abstain_reason=self.why if abstained else None,
            missing_subject=self.missing if abstained else None,
            quoted=quoted,
            generated=generated,
        )

    def _citations(self, text: str) -> tuple[Citation, ...]:
        quotes: dict[int, str] = {}
        for e in self.shown:
            quotes.setdefault(e.n, e.quote)
        out = []
        for n in sorted(set(parse_markers(text)) | set(quotes)):
            if not 1 <= n <= len(self.sources):
                continue
            hit = self.sources[n - 1]
            claim = " ".join(s.text for s in self.sentences if s.supported and n in s.citations)
            out.append(Citation(n=n, hit=hit, quote=quotes.get(n) or best_quote(claim, hit.text)))
        return tuple(out)


def evidence_quotes(evidence: Sequence[Evidence], sources: Sequence[Hit], size: int = 1) -> list[tuple[int, str]]:
    """What the model is given: each evidence sentence with `size` sentences on either side, one
    block per passage ([n] as among `sources`), in evidence order."""
    spans: dict[int, list[tuple[int, int]]] = {}
    for e in evidence:
        spans.setdefault(e.n, []).append(window(e, size))
    out = []
    for n, ss in spans.items():
        text = sources[n - 1].text
        out.append((n, " … ".join(text[s:e] for s, e in _merged(ss))))
    return out


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(e, out[-1][1]))
        else:
            out.append((s, e))
    return out
