"""What every format loader shares: its result, its options, and text cleaning."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from citeqa.core.tables import Table
from citeqa.core.types import Page

if TYPE_CHECKING:
    from citeqa.core.settings import Settings
    from citeqa.ingest.ocr import Ocr


# Why a step a reader left out is missing (see Options.step).
STALLED = "stopped: no progress within CITEQA_PARSE_TIMEOUT seconds (a malformed file can make its reader loop)"


def _no_progress_report(_step: str) -> None:
    pass


def _default(name: str) -> Any:
    from citeqa.core.settings import Settings

    return Settings.model_fields[name].default


@dataclass(frozen=True)
class ReadLimits:
    """What a reader may unpack or render of one file, from the settings of the same names
    (CITEQA_MAX_UNZIPPED_MB, ...); the defaults are the settings' own. Picklable: parser
    processes get a copy."""

    unzipped_mb: float = field(default_factory=lambda: _default("max_unzipped_mb"))
    zip_ratio: float = field(default_factory=lambda: _default("max_zip_ratio"))
    zip_entries: int = field(default_factory=lambda: _default("max_zip_entries"))
    page_pixels: int = field(default_factory=lambda: _default("max_page_pixels"))

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        return cls(settings.max_unzipped_mb, settings.max_zip_ratio, settings.max_zip_entries, settings.max_page_pixels)


@dataclass(frozen=True)
class Options:
    """`ocr`: the engine that reads pages without a text layer, or None (CITEQA_OCR=off, or no engine).
    `limits`: what it may unpack or render. `progress` and `stalled`: see `step`."""

    ocr: Ocr | None = None
    limits: ReadLimits = field(default_factory=ReadLimits)
    progress: Callable[[str], None] = _no_progress_report
    stalled: frozenset[str] = frozenset()

    def step(self, name: str = "") -> bool:
        """The reader makes progress: it begins step `name` (a page), one it can leave out, or
        with "" one it cannot. False when `name` made no progress in an earlier try (the parser
        process reading it was stopped, citeqa.ingest.parsers): the reader leaves it out."""
        if name and name in self.stalled:
            return False
        self.progress(name)
        return True


@dataclass(frozen=True)
class Loaded:
    pages: tuple[Page, ...]
    warnings: tuple[str, ...] = ()
    ocr_pages: int = 0  # pages whose text came from OCR


# C0 and C1 controls, DEL, and private-use code points (PDF symbol fonts map bracket
# pieces there; the embedder sees them as [UNK] and readers as boxes). \t and \n survive.
_JUNK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ue000-\uf8ff]")
_MANY_NEWLINES = re.compile(r"\n{3,}")
# PDF fonts emit typographic ligatures; the embedding model's vocabulary lacks them
# (difﬁcult → di ##f ##ﬁ ##cu ##lt) and keyword search would never match "difficult".
_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
    }
)


def clean_text(text: str) -> str:
    # Form feeds and vertical tabs separate pages/lines in text files; as newlines they keep words apart.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = _JUNK.sub("", text).translate(_LIGATURES)
    text = _without_trailing_blanks(text)
    return _MANY_NEWLINES.sub("\n\n", text).strip()


def _without_trailing_blanks(text: str) -> str:
    """`text` without the spaces and tabs that end its lines (the last line's are left to the
    caller's strip). Line by line, not `[ \\t]+\\n`: that regex starts again at every blank of a run
    that no line break ends, so 120 KB of spaces took 12 s (quadratic); this is linear, and on
    ordinary text ten times faster than the regex."""
    lines = text.split("\n")
    last = lines.pop()
    return "\n".join([*(line.rstrip(" \t") for line in lines), last])


def short(exc: BaseException, limit: int = 120) -> str:
    """An exception as one line of at most `limit` characters, for a failure message."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"


_TITLE_MAX = 60  # characters of each heading in a section's location


def section(path: list[str]) -> str:
    """The location of a section under headings `path`: "section 'Setup › Warranty'", or "" at top."""
    titles = [" ".join(t.split()) for t in path]
    titles = [t if len(t) <= _TITLE_MAX else t[: _TITLE_MAX - 1] + "…" for t in titles if t]
    return f"section '{' › '.join(titles)}'" if titles else ""


def blocks(lines: Iterable[str]) -> str:
    """Text of separate blocks (headings, paragraphs, bullets, table rows), a blank line between
    them. A slide's bullets and a document's headings seldom end in a full stop; joined by a single
    line break, "Fleet status" and "The fleet grew to 214 vans in Q3" ran on with the next bullet
    into one quoted sentence. A blank line always ends a sentence (citeqa.core.sentences), and a
    line break inside a block (a soft break in a paragraph) still follows the usual rules."""
    return "\n\n".join(line for line in lines if line.strip())


class Sections:
    """Text gathered under a heading path, one `Page` per section, in document order; sections
    without text are left out. Used by the formats whose structure is headings, not pages."""

    def __init__(self) -> None:
        self._path: list[tuple[int, str]] = []
        self._lines: list[str] = []
        self._tables: list[Table] = []
        self._pages: list[Page] = []

    def heading(self, level: int, title: str) -> None:
        self._flush()
        title = " ".join(title.split())
        while self._path and self._path[-1][0] >= level:
            self._path.pop()
        if title:
            self._path.append((level, title))
            self._lines.append(title)  # the heading's words belong to its section's text

    def line(self, text: str) -> None:
        if text.strip():
            self._lines.append(text)

    def table(self, table: Table) -> None:
        """A table of the current section, kept apart from its text: each row becomes a passage of
        its own (citeqa.core.tables), so no cell runs into the prose around it."""
        self._tables.append(table)

    @property
    def tables_here(self) -> int:
        """Tables of the current section so far (one without a caption is named by its number)."""
        return len(self._tables)

    def _flush(self) -> None:
        body = clean_text(blocks(self._lines))
        # A section that is only its own heading (the next heading follows at once) adds nothing.
        if self._path and body == self._path[-1][1] and not self._tables:
            return  # only its heading (a subheading follows at once): the title leads the next section
        if body or self._tables:
            location = section([t for _, t in self._path])
            self._pages.append(Page(text=body, page=None, location=location, tables=tuple(self._tables)))
        self._lines = []
        self._tables = []

    def pages(self) -> tuple[Page, ...]:
        self._flush()
        return tuple(self._pages)
