"""Plain text and Markdown: one page without a number, decoded whatever the encoding."""

from __future__ import annotations

import codecs
from pathlib import Path

from citeqa.core.errors import DocumentError
from citeqa.core.types import Page
from citeqa.ingest.formats.base import Loaded, Options, clean_text

_SNIFF_BYTES = 8192
# Share of control bytes in the sniffed head above which a "text" file is taken for binary.
_MAX_CONTROL_SHARE = 0.10
# Share of NUL bytes in the sniffed head above which even valid UTF-8 is taken for binary (one NUL never is).
_MAX_NUL_SHARE = 0.01
# Chaos (charset-normalizer's mess measure) within which cp1252 is preferred to the best guess.
_CP1252_SLACK = 0.1


def load(path: Path, options: Options) -> Loaded:
    data = path.read_bytes()
    if not data.strip():
        raise DocumentError(path, "empty file")
    text, warnings = decode(path, data)
    text = clean_text(text)
    if not text:
        raise DocumentError(path, "empty file")
    return Loaded((Page(text=text, page=None),), tuple(warnings))


def decode(path: Path, data: bytes) -> tuple[str, list[str]]:
    # Windows editors save "Unicode" text as UTF-16 with a BOM; its NUL bytes are not binary.
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            pass
    if looks_binary(data[:_SNIFF_BYTES]):
        raise DocumentError(path, "binary content, not text")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    encoding = _guess(data)
    return data.decode(encoding, errors="replace"), [f"not UTF-8; decoded as {encoding}"]


def _guess(data: bytes) -> str:
    """The legacy encoding of `data`, by charset-normalizer.

    Measured on Python's own CJK test files and on French, German, Polish, Russian, Greek and
    Turkish text in their legacy encodings (29 files): a fixed cp1252 → latin-1 fallback decoded 4
    correctly, charset-normalizer 20; but charset-normalizer took short Western European cp1252
    text for cp1250 or cp775 ("naïve" read as "naďve"). Preferring cp1252 when it is nearly as
    clean as the best guess fixes that (22 of 29): it is by far the most common legacy encoding."""
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        return "latin-1"  # decodes any bytes
    for m in matches:
        if m.encoding == "cp1252" and m.chaos <= best.chaos + _CP1252_SLACK:
            return "cp1252"
    return best.encoding


def looks_binary(head: bytes) -> bool:
    # NUL bytes mark binary formats, but a stray few in valid UTF-8 are damage to a text file
    # (a log cut by a crash, a copy-paste from a terminal): those are cleaned away, not refused.
    nuls = head.count(0)
    if nuls and (nuls > max(1, len(head) * _MAX_NUL_SHARE) or not _is_utf8(head)):
        return True
    # Bytes 0x80-0x9f are printable in cp1252, so only C0 controls other than whitespace count.
    controls = sum(1 for b in head if b < 0x20 and b not in b"\t\n\r\f\v\x1b")
    return bool(head) and controls / len(head) > _MAX_CONTROL_SHARE


def _is_utf8(head: bytes) -> bool:
    try:
        # Not final: the sniffed head may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True
