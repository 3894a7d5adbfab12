"""Checks shared by the zip-based formats (Word, PowerPoint, EPUB): what a bad file is, in words."""

from __future__ import annotations

import zipfile
from pathlib import Path

from citeqa.core.errors import DocumentError
from citeqa.ingest.formats.base import short

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: legacy .doc/.ppt, and encrypted OOXML
# An Office file saved with a password is a Compound File holding the encrypted package under this
# stream name (UTF-16 in the directory); checked directly: a library for it would read nothing else.
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


def check(path: Path, kind: str, legacy: str) -> None:
    """Raise a DocumentError saying why `path` is not a readable `kind` file, judged by its first
    bytes: a password-protected Office file, a legacy binary one (`legacy`, e.g. ".doc"), or no zip."""
    with open(path, "rb") as fh:
        head = fh.read(8)
        if head == _OLE:
            data = fh.read(2**20)
            if _ENCRYPTED in data:
                raise DocumentError(path, f"password-protected {kind} file")
            raise DocumentError(path, f"old binary {legacy} format, not {kind}; save it as {path.suffix.lower()}")
    if head[:4] != _ZIP:
        raise DocumentError(path, f"not a valid {kind} file (corrupt, or another format renamed {path.suffix.lower()})")
    try:
        # The zip's directory is at its end: a cut file fails here, with a plainer reason than the library's.
        with zipfile.ZipFile(path):
            pass
    except zipfile.BadZipFile as exc:
        raise failure(path, kind, exc) from None


def failure(path: Path, kind: str, exc: Exception) -> DocumentError:
    """The DocumentError for a library's exception while opening a `kind` file."""
    if isinstance(exc, zipfile.BadZipFile | EOFError):
        return DocumentError(path, f"corrupt or truncated {kind} file ({short(exc)})")
    return DocumentError(path, f"corrupt {kind} file ({short(exc)})")
