"""From a question and retrieved passages to a streamed, cited, support-checked Answer."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from citeqa.answer.citations import (
    MARKER,
    ScoreFn,
    content_words,
    lexical_scores,
    looks_abstained,
    number_agreement,
    parse_markers,
    pick_quote,
    quote_candidates,
    remove_markers,
    split_sentences,
    strip_invalid,
)
from citeqa.answer.generator import Generator, Prompt
from citeqa.answer.prompt import NOT_IN_DOCS, build_prompt, echo_stops
from citeqa.core.types import Answer, Citation, Hit, Sentence, Timings

History = Sequence[tuple[str, str]]

REWRITE_SYSTEM = (
    "Rewrite the user's follow-up question as one standalone question that can be understood "
    "without the conversation. Reply with the question only."
)
# One worked example: without it small models answer the follow-up instead of rewriting it.
_REWRITE_EXAMPLE = (
    "Conversation:\nUser: Who wrote the 2021 annual report?\nAssistant: Jane Doe wrote it [1].\n"
    "Follow-up question: when was it published?\n"
    "Standalone question: When was the 2021 annual report by Jane Doe published?\n\n"
)
_REWRITE_MAX_TOKENS = 48
_LABEL = re.compile(r"^\s*(?:standalone\s+question|question|rewritten(?:\s+question)?)\s*:\s*", re.IGNORECASE)
_SPEAKER = re.compile(r"^(?:user|assistant|conversation)\s*:", re.IGNORECASE)
_PARTIAL_MARKER = re.compile(r"\[[\d\s,;\-–and]*$")


class AnswerStream:
    """Iterate for the answer's text as it is generated; `.answer` is set once iteration ends.

    Pieces come with invalid [n] markers already removed. When the model abstains, the
    pieces are its own words while `.answer.text` is NOT_IN_DOCS: show `.answer.text` at the end.
    """

    def __init__(
        self,
        pieces: Iterator[str],
        finish: Callable[[str, float | None], Answer],
        sources: Sequence[Hit],
        prompt: Prompt = "",
        started: float | None = None,
    ) -> None:
        self._pieces = pieces
        self._finish = finish
        self.sources: tuple[Hit, ...] = tuple(sources)
        self.prompt = prompt
        self.answer: Answer | None = None
        self._started = time.perf_counter() if started is None else started

    def __iter__(self) -> Iterator[str]:
        if self.answer is not None:
            return
        raw: list[str] = []
        first: float | None = None
        markers = _MarkerFilter(len(self.sources))
        for piece in self._pieces:
            if first is None:
                first = time.perf_counter() - self._started
            raw.append(piece)
            if out := markers.feed(piece):
                yield out
        if out := markers.flush():
            yield out
        self.answer = self._finish("".join(raw), first)

    def result(self) -> Answer:
        for _ in self:
            pass
        assert self.answer is not None
        return self.answer


class _MarkerFilter:
    """Removes invalid markers from streamed text: holds back a "[..." until it is closed."""

    def __init__(self, n_sources: int) -> None:
        self.n_sources = n_sources
        self.held = ""

    def feed(self, piece: str) -> str:
        text = self.held + piece
        m = _PARTIAL_MARKER.search(text)
        # Spaces before a marker go with it, so a removed marker leaves no gap.
        cut = m.start() if m and len(text) - m.start() <= 16 else len(text)
        cut = len(text[:cut].rstrip(" \t"))
        self.held = text[cut:]
        return strip_invalid(text[:cut], self.n_sources)[0]

    def flush(self) -> str:
        text, self.held = self.held, ""
        return strip_invalid(text, self.n_sources)[0]


@dataclass
class _Passage:
    hit: Hit
    spans: list[tuple[int, int]]
    n_single: int

    @property
    def candidates(self) -> list[str]:
        return [self.hit.text[s:e] for s, e in self.spans]


class Answerer:
    """Answers a question from given hits with `generator`, and checks the answer against them.

    `score_fn(claim, candidates)` scores how well each passage sentence supports an answer
    sentence (the engine passes embedding similarity; the default is lexical overlap).
    """

    def __init__(
        self, generator: Generator, score_fn: ScoreFn | None = None, *, support_threshold: float = 0.5
    ) -> None:
        self.generator = generator
        self.score_fn: ScoreFn = score_fn or lexical_scores
        self.support_threshold = support_threshold

    @staticmethod
    def abstained(question: str, hits: Sequence[Hit] = (), timings: Timings | None = None) -> Answer:
        """The answer given when the passages do not answer the question."""
        return Answer(
            question=question,
            text=NOT_IN_DOCS,
            abstained=True,
            sources=tuple(hits),
            citations=(),
            timings=timings or Timings(),
        )

    def stream(
        self,
        question: str,
        hits: Sequence[Hit],
        *,
        history: History = (),
        retrieve_s: float = 0.0,
        temperature: float | None = None,
    ) -> AnswerStream:
        t0 = time.perf_counter()
        prompt, sources = build_prompt(self.generator, question, hits, history) if hits else ("", [])
        if not sources:
            # Without passages the model could only answer from memory.
            def nothing(_raw: str, _first: float | None) -> Answer:
                return self.abstained(
                    question, (), Timings(retrieve_s=retrieve_s, total_s=time.perf_counter() - t0)
                )

            return AnswerStream(iter([NOT_IN_DOCS]), nothing, (), started=t0)

        def finish(raw: str, first: float | None) -> Answer:
            timings = Timings(retrieve_s=retrieve_s, first_token_s=first, total_s=time.perf_counter() - t0)
            return self._check(question, raw, sources, timings)

        return AnswerStream(
            self.generator.stream(prompt, stop=echo_stops(sources), temperature=temperature),
            finish,
            sources,
            prompt,
            started=t0,
        )

    def answer(self, question: str, hits: Sequence[Hit], *, history: History = ()) -> Answer:
        return self.stream(question, hits, history=history).result()

    # -- checking ----------------------------------------------------------------

    def _check(self, question: str, raw: str, sources: Sequence[Hit], timings: Timings) -> Answer:
        text, invalid = strip_invalid(raw.strip(), len(sources))
        text = text.strip()
        if not text or looks_abstained(text):
            return replace(self.abstained(question, sources, timings), invalid_citations=invalid)

        passages = [_Passage(h, *quote_candidates(h.text)) for h in sources]
        # For each cited n: summed scores over passage n's candidates, across the sentences citing it.
        quote_scores: dict[int, list[float]] = {}
        sentences: list[Sentence] = []
        for sent in split_sentences(text):
            cites = tuple(parse_markers(sent))
            claim = remove_markers(sent)
            if content_words(claim) == 0:
                sentences.append(Sentence(sent, cites, True, 1.0))  # no claim, nothing to support
                continue
            # A sentence that cites nothing is still checked, against every passage (never credited to one).
            pool = cites or tuple(range(1, len(sources) + 1))
            candidates = [c for n in pool for c in passages[n - 1].candidates]
            scores = self._support(claim, candidates)
            score = max(scores, default=0.0)
            sentences.append(Sentence(sent, cites, score >= self.support_threshold, float(score)))
            offset = 0
            for n in cites:
                k = len(passages[n - 1].spans)
                own = scores[offset : offset + k]
                acc = quote_scores.setdefault(n, [0.0] * k)
                quote_scores[n] = [a + b for a, b in zip(acc, own, strict=True)]
                offset += k

        # Markers in sentences without a claim still cite their passage.
        for s in sentences:
            for n in s.citations:
                quote_scores.setdefault(n, [0.0] * len(passages[n - 1].spans))

        citations = []
        for n in sorted(quote_scores):
            p = passages[n - 1]
            quote = (
                pick_quote(p.hit.text, p.spans, p.n_single, quote_scores[n])[0]
                if p.spans
                else p.hit.text.strip()
            )
            citations.append(Citation(n=n, hit=p.hit, quote=quote))

        return Answer(
            question=question,
            text=text,
            abstained=False,
            sources=tuple(sources),
            citations=tuple(citations),
            sentences=tuple(sentences),
            grounded=bool(citations) and all(s.supported for s in sentences),
            invalid_citations=invalid,
            timings=timings,
        )

    def _support(self, claim: str, candidates: list[str]) -> list[float]:
        if not candidates:
            return []
        scores = self.score_fn(claim, candidates)
        return [s * a for s, a in zip(scores, number_agreement(claim, candidates), strict=True)]

    # -- follow-ups ----------------------------------------------------------------

    def rewrite_followup(self, question: str, history: History) -> str:
        """`question` rewritten with the conversation so that it stands alone (for retrieval)."""
        if not history:
            return question
        convo = "\n".join(
            f"{'User' if role == 'user' else 'Assistant'}: {_clip(content, 300)}"
            for role, content in list(history)[-4:]
        )
        user = f"{_REWRITE_EXAMPLE}Conversation:\n{convo}\nFollow-up question: {question.strip()}\nStandalone question:"
        prompt = self.generator.render(REWRITE_SYSTEM, [("user", user)])
        # One line is all we want; stopping there also saves generating the model's chatter.
        out = self.generator.complete(prompt, max_tokens=_REWRITE_MAX_TOKENS, temperature=0.0, stop=("\n",))
        rewritten = _LABEL.sub("", out.strip()).strip().strip("\"'“”").strip()
        earlier = {c.strip().lower() for r, c in history if r == "user"}
        too_long = (
            len(rewritten) > 300
            or self.generator.count_tokens(out) >= _REWRITE_MAX_TOKENS - 2
            or len(rewritten) > 4 * len(question) + 200
        )
        echoed = _SPEAKER.match(rewritten) or rewritten.lower() in earlier
        if not rewritten or too_long or echoed or MARKER.search(rewritten) or looks_abstained(rewritten):
            last_user = next((c for r, c in reversed(list(history)) if r == "user"), "")
            return f"{last_user.strip()} {question.strip()}".strip()
        return rewritten


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"
