"""Streamed model text → complete sentences, each released once the next one has begun."""

from __future__ import annotations

import re

from citeqa.core.sentences import REFERENCE, sentence_spans

_LETTER = re.compile(r"[^\W\d_]")


class SentenceBuffer:
    """Holds streamed text until a sentence is complete: a later sentence with a letter in it has
    started (so a citation marker still arriving after the full stop, "… layers. [1", stays with it)."""

    def __init__(self) -> None:
        self.text = ""

    def feed(self, piece: str) -> list[str]:
        self.text += piece
        spans = sentence_spans(self.text)
        if len(spans) < 2 or not _LETTER.search(REFERENCE.sub("", self.text[spans[-1][0] :])):
            return []
        done = [self.text[s:e] for s, e in spans[:-1]]
        self.text = self.text[spans[-1][0] :]
        return done

    def flush(self) -> list[str]:
        text, self.text = self.text, ""
        return [text[s:e] for s, e in sentence_spans(text)]
