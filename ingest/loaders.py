"""Source files → `Document`s of cleaned page text, or a `DocumentError` saying why not.

The checks every file gets (size cap, empty, unreadable) are here; each format's parsing is in
`ingest/formats/`, whose registry is the one list of supported file types.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from citeqa.core.errors import DocumentError
from citeqa.core.files import content_hash as file_hash
from citeqa.core.types import Document
from citeqa.ingest.formats import SUPPORTED_SUFFIXES, Options, loader_for
from citeqa.ingest.formats.base import ReadLimits, clean_text
from citeqa.ingest.ocr import Ocr

__all__ = ["SUPPORTED_SUFFIXES", "clean_text", "load"]

_MB = 2**20
_SNIFF_BYTES = 8192


def load(
    path: Path,
    *,
    max_bytes: int,
    ocr: Ocr | None = None,
    limits: ReadLimits | None = None,
    content_hash: str | None = None,
    progress: Callable[[str], None] | None = None,
    stalled: frozenset[str] = frozenset(),
) -> Document:
    """Parse one file. `max_bytes` is the size cap (CITEQA_MAX_FILE_MB × 2**20); `ocr` reads
    scanned PDF pages (None: they are left out, and a PDF of scans only fails); `limits` bound what
    a reader may unpack or render (CITEQA_MAX_UNZIPPED_MB, CITEQA_MAX_PAGE_PIXELS, ...; their
    defaults if None); `content_hash`: of the file's bytes, when the caller has it (an ingest
    hashes each file once); `progress` is told each step the reader begins, and it leaves out
    the steps in `stalled` (citeqa.ingest.formats.base.Options.step)."""
    path = Path(path)
    loader = loader_for(path)
    try:
        size = path.stat().st_size
        if loader is None:
            raise DocumentError(path, f"unsupported file type {path.suffix.lower() or '(no extension)'}")
        if size > max_bytes:
            raise DocumentError(path, _over_cap(size, max_bytes))
        if size == 0 or (size <= _SNIFF_BYTES and not path.read_bytes().strip()):
            raise DocumentError(path, "empty file")
        digest = content_hash if content_hash is not None else file_hash(path)
        options = Options(ocr=ocr, limits=limits or ReadLimits(), stalled=stalled)
        loaded = loader(path, dataclasses.replace(options, progress=progress) if progress else options)
    except PermissionError:
        raise DocumentError(path, "permission denied") from None
    except FileNotFoundError:
        raise DocumentError(path, "no such file or directory") from None
    except IsADirectoryError:
        raise DocumentError(path, "is a directory") from None
    return Document(
        path=str(path), content_hash=digest, pages=loaded.pages, warnings=loaded.warnings, ocr_pages=loaded.ocr_pages
    )


def _over_cap(size: int, cap: int) -> str:
    shown = _size(size)
    if shown == _size(cap):  # 100.04 MB must not read as "100 MB, over the 100 MB cap"
        shown = f"{size / _MB:.3f} MB"
    return f"file is {shown}, over the {_size(cap)} cap (CITEQA_MAX_FILE_MB)"


def _size(n: int) -> str:
    if n >= _MB // 10:
        return f"{n / _MB:.1f}".removesuffix(".0") + " MB"
    if n >= 1024:
        return f"{n / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{n} bytes"
