"""Stop sequences applied to streamed text, for servers that apply only some of them (or none)."""

from __future__ import annotations

from collections.abc import Sequence


class StopCutter:
    """Feed it streamed pieces; it returns the text that is safe to show and whether a stop was hit.

    Text that could be the start of a stop sequence is held back until the next piece shows
    whether it is one, so a stop split across pieces is still never shown."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = [s for s in stops if s]
        self.held = ""

    def feed(self, piece: str) -> tuple[str, bool]:
        text = self.held + piece
        cut = min((i for s in self.stops if (i := text.find(s)) >= 0), default=-1)
        if cut >= 0:
            self.held = ""
            return text[:cut], True
        keep = max((k for s in self.stops for k in range(min(len(s) - 1, len(text)), 0, -1) if text.endswith(s[:k])), default=0)
        self.held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep], False

    def flush(self) -> str:
        text, self.held = self.held, ""
        return text
