"""One file read and chunked, the same in the ingest's own thread and in a parser process."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from citeqa.core.errors import DocumentError
from citeqa.core.files import os_reason
from citeqa.core.types import Chunk, Document, FileResult
from citeqa.ingest.chunker import Chunker
from citeqa.ingest.formats.base import ReadLimits
from citeqa.ingest.loaders import load
from citeqa.ingest.ocr import Ocr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parsed:
    path: str
    content_hash: str
    pages: int
    chunks: tuple[Chunk, ...]
    warnings: tuple[str, ...]
    title: str = ""
    ocr_pages: int = 0

    def embedding_texts(self) -> list[str]:
        """Chunk text prefixed with the document's title (a contextual header): without it a
        passage like "the lake's maximum depth was 47 m" loses, for "How deep is Aurora Lake?",
        to the overview page that names Aurora Lake three times. Stored text stays verbatim."""
        if not self.title:
            return [c.text for c in self.chunks]
        return [c.text if c.text.startswith(self.title) else f"{self.title}\n{c.text}" for c in self.chunks]


def parse_with(
    chunker: Chunker,
    path: str,
    digest: str,
    max_bytes: int,
    ocr: Ocr | None = None,
    limits: ReadLimits | None = None,
    *,
    progress: Callable[[str], None] | None = None,
    stalled: frozenset[str] = frozenset(),
) -> Parsed:
    """Read and chunk one file whose bytes hash to `digest`. `limits`: what its reader may unpack
    or render; `progress` and `stalled`: see citeqa.ingest.formats.base.Options."""
    doc: Document = load(
        Path(path), max_bytes=max_bytes, ocr=ocr, limits=limits, content_hash=digest, progress=progress, stalled=stalled
    )
    if progress is not None:
        progress("")  # chunking: a step no retry can leave out
    chunks = tuple(chunker.split(doc))
    if not chunks:
        raise DocumentError(path, "no extractable text")
    return Parsed(path, digest, len(doc.pages), chunks, doc.warnings, document_title(doc), doc.ocr_pages)


def parsed_or_failed(path: str, parse: Callable[[], Parsed | FileResult]) -> Parsed | FileResult:
    """`parse()`, or the file's failure as a result. In a parser process failures must become
    results there: an exception travels back pickled, and one that cannot be rebuilt in the
    parent (DocumentError takes two arguments) would be lost."""
    try:
        return parse()
    except DocumentError as exc:
        return FileResult(path, "failed", error=exc.reason)
    except OSError as exc:
        return FileResult(path, "failed", error=os_reason(exc))
    except Exception as exc:  # a parser bug on one file must not stop a bulk run
        log.debug("unexpected error parsing %s", path, exc_info=True)
        return FileResult(path, "failed", error=f"could not parse: {type(exc).__name__}: {exc}")


def document_title(doc: Document, limit: int = 120) -> str:
    """The first line of the document (a PDF's title line, a Markdown heading), else the file name."""
    for page in doc.pages:
        for line in page.text.splitlines():
            line = line.strip().lstrip("#").strip()
            if len(line) >= 3:
                return line[:limit]
    return Path(doc.path).stem
