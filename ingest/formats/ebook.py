"""EPUB through EbookLib: the chapters in reading order, each by its heading sections.

EbookLib is maintained, reads EPUB 2 and 3, and needs only lxml (already here for trafilatura).
Each chapter is XHTML and goes through the same extraction as a saved web page; a passage is
cited by its heading path, or by the chapter's title in the book's table of contents.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from citeqa.core.errors import DocumentError
from citeqa.core.types import Page
from citeqa.ingest.formats import package, web
from citeqa.ingest.formats.base import Loaded, Options, section

_KIND = "EPUB"
_TEXT_SUFFIXES = (".xhtml", ".html", ".htm", ".xml")


def load(path: Path, options: Options) -> Loaded:
    import ebooklib
    from ebooklib import epub

    package.check(path, _KIND, ".mobi", options.limits)
    try:
        with zipfile.ZipFile(path) as z:
            encrypted = _encrypted_text(z)
    except zipfile.BadZipFile as exc:
        raise package.failure(path, _KIND, exc) from None
    if encrypted:
        raise DocumentError(path, "DRM-protected e-book (its chapters are encrypted)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EbookLib warns about its own future defaults
            book = epub.read_epub(str(path), options={"ignore_ncx": True})
    except Exception as exc:
        raise package.failure(path, _KIND, exc) from None
    titles = _toc_titles(book.toc)
    pages: list[Page] = []
    chapter = 0
    for idref, _linear in book.spine:
        item = book.get_item_with_id(idref)
        # The navigation document is the table of contents: titles, not text.
        if item is None or item.get_type() != ebooklib.ITEM_DOCUMENT or isinstance(item, epub.EpubNav):
            continue
        chapter += 1
        default = section([titles[item.get_name()]]) if item.get_name() in titles else f"chapter {chapter}"
        for page in web.extract(item.get_content(), favor_recall=True).pages():
            pages.append(page if page.location else dataclasses.replace(page, location=default))
    if not pages:
        raise DocumentError(path, "no text in the book")
    return Loaded(tuple(pages))


def _toc_titles(toc: Iterable[Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in toc:
        if isinstance(entry, tuple):
            head, children = entry
            out.update(_toc_titles([head, *children]))
        elif getattr(entry, "href", None):
            out.setdefault(entry.href.split("#", 1)[0], entry.title or "")
    return out


def _encrypted_text(z: zipfile.ZipFile) -> bool:
    """True when META-INF/encryption.xml covers chapters; fonts alone are often "encrypted"
    (obfuscated) in books anyone may read."""
    try:
        xml = z.read("META-INF/encryption.xml").decode("utf-8", "replace")
    except KeyError:
        return False
    return any(uri.lower().endswith(_TEXT_SUFFIXES) for uri in re.findall(r'URI="([^"]+)"', xml))
