"""`AnswerStream`: the one stream every edge reads an answer from.

Iterate it for the answer's text, piece by piece (the evidence first, then each generated
sentence once it has passed the support check), or call `events()` for typed events (see
citeqa.core.events). `"".join(pieces) == stream.answer.text` always. `close()`, or leaving the
iteration early, stops generation and gives the model's turn back at once, from any thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence

from citeqa.core.events import Done, Event, text_of
from citeqa.core.types import Answer, Evidence, Hit

# Produces the events; checks `stopped()` between model tokens and while waiting for a turn.
Run = Callable[[Callable[[], bool]], Iterator[Event]]
# The answer as far as it was shown, from the events whose text had reached the reader.
Partial = Callable[[Sequence[Event]], Answer]


class AnswerStream:
    def __init__(
        self,
        question: str,
        sources: tuple[Hit, ...],
        evidence: tuple[Evidence, ...],
        run: Run,
        partial: Partial,
    ) -> None:
        self.question = question
        self.sources = sources
        self.evidence = evidence  # the quotes shown (empty when abstained before generating)
        self.answer: Answer | None = None
        self._stop = threading.Event()
        self._events = run(self._stop.is_set)
        self._partial = partial
        self._shown: list[Event] = []  # those whose text the reader was given
        self._started = False

    def events(self) -> Iterator[Event]:
        """The typed events, in order; ends with `Done`. Iterate once, either this or the text."""
        if self._started:
            return
        self._started = True
        try:
            for event in self._events:
                if text_of(event):
                    self._shown.append(event)
                if isinstance(event, Done):
                    self.answer = event.answer
                yield event
                if self._stop.is_set():
                    break
        finally:
            self._end()

    def __iter__(self) -> Iterator[str]:
        for event in self.events():
            if piece := text_of(event):
                yield piece

    def result(self) -> Answer:
        """Drain the stream and return the final answer."""
        for _ in self.events():
            pass
        assert self.answer is not None
        return self.answer

    def close(self) -> None:
        """Stop now: generation ends at the next token, a wait for the model ends within a tick,
        and `answer` becomes what had been shown. Safe from any thread (one iterating elsewhere
        right now sees the stop flag at its next step)."""
        self._stop.set()
        self._started = True
        self._end()

    def _end(self) -> None:
        close = getattr(self._events, "close", None)
        if close is not None:
            with contextlib.suppress(ValueError):
                close()
        if self.answer is None:
            self.answer = self._partial(tuple(self._shown))

    def __enter__(self) -> AnswerStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
