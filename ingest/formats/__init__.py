"""The file types citeqa reads: one module per format, and this registry of suffix → loader.

This is the one place that says which files are supported: the folder walk, the web app's
uploader and the upload checks all read `SUPPORTED_SUFFIXES`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from citeqa.ingest.formats import ebook, pdf, slides, text, web, word
from citeqa.ingest.formats.base import Loaded, Options

Loader = Callable[[Path, Options], Loaded]

LOADERS: MappingProxyType[str, Loader] = MappingProxyType(
    {
        ".pdf": pdf.load,
        ".txt": text.load,
        ".md": text.load,
        ".markdown": text.load,
        ".docx": word.load,
        ".pptx": slides.load,
        ".html": web.load,
        ".htm": web.load,
        ".epub": ebook.load,
    }
)
SUPPORTED_SUFFIXES = frozenset(LOADERS)


def loader_for(path: Path) -> Loader | None:
    return LOADERS.get(path.suffix.lower())


__all__ = ["LOADERS", "SUPPORTED_SUFFIXES", "Loaded", "Loader", "Options", "loader_for"]
