"""Checks shared by the zip-based formats (Word, PowerPoint, EPUB): what a bad file is, in words,
and what it would unpack to, before any member is read.

python-docx and python-pptx read every part a package's relationships name into memory, and
EbookLib every member: a 400 KB .docx holding a 400 MB zero-filled image raised the server's
memory by 418 MB (#22). The zip's central directory says each member's size stored and unpacked,
so a bomb is refused from it (CITEQA_MAX_ZIP_ENTRIES, CITEQA_MAX_UNZIPPED_MB, CITEQA_MAX_ZIP_RATIO).
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

from citeqa.core.errors import DocumentError, DocumentTooLarge
from citeqa.ingest.formats.base import ReadLimits, short

_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Compound File: legacy .doc/.ppt, and encrypted OOXML
# An Office file saved with a password is a Compound File holding the encrypted package under this
# stream name (UTF-16 in the directory); checked directly: a library for it would read nothing else.
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


_MB = 2**20
# A member under this may unpack at any ratio (a style sheet of repeated XML compresses 50x and
# more); together they are still bounded by CITEQA_MAX_UNZIPPED_MB.
_RATIO_FLOOR = _MB
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"


def check(path: Path, kind: str, legacy: str, limits: ReadLimits | None = None) -> None:
    """Raise a DocumentError saying why `path` is not a readable `kind` file, judged by its first
    bytes: a password-protected Office file, a legacy binary one (`legacy`, e.g. ".doc"), or no zip;
    a DocumentTooLarge when its members would unpack past `limits`."""
    limits = limits or ReadLimits()
    with open(path, "rb") as fh:
        head = fh.read(8)
        if head == _OLE:
            data = fh.read(2**20)
            if _ENCRYPTED in data:
                raise DocumentError(path, f"password-protected {kind} file")
            raise DocumentError(path, f"old binary {legacy} format, not {kind}; save it as {path.suffix.lower()}")
        if head[:4] != _ZIP:
            raise DocumentError(path, f"not a valid {kind} file (corrupt, or another format renamed {path.suffix.lower()})")
        # Before zipfile builds an object per member: a 100 MB central directory of tiny entries
        # would cost a gigabyte of them. The count is in the directory's end record.
        declared = _declared_entries(fh)
        if declared is not None and declared > limits.zip_entries:
            raise _too_many(path, kind, declared, limits)
    try:
        # The zip's directory is at its end: a cut file fails here, with a plainer reason than the library's.
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except zipfile.BadZipFile as exc:
        raise failure(path, kind, exc) from None
    bounded(path, kind, members, limits)


def bounded(path: Path, kind: str, members: list[zipfile.ZipInfo], limits: ReadLimits) -> None:
    """Raise a DocumentTooLarge when `members` (the central directory) are too many, unpack to more
    than CITEQA_MAX_UNZIPPED_MB together, or one over 1 MB unpacks more than CITEQA_MAX_ZIP_RATIO
    times its stored size."""
    if len(members) > limits.zip_entries:
        raise _too_many(path, kind, len(members), limits)
    total = sum(m.file_size for m in members)
    if total > limits.unzipped_mb * _MB:
        raise DocumentTooLarge(
            path,
            f"{kind} file would unpack to {total / _MB:,.0f} MB, over the {limits.unzipped_mb:g} MB "
            "limit (CITEQA_MAX_UNZIPPED_MB); not read",
            "CITEQA_MAX_UNZIPPED_MB",
        )
    for m in members:
        ratio = m.file_size / max(m.compress_size, 1)
        if m.file_size > _RATIO_FLOOR and ratio > limits.zip_ratio:
            raise DocumentTooLarge(
                path,
                f"{kind} file's member {m.filename[:80]} would unpack {ratio:,.0f} times its stored size "
                f"({m.file_size / _MB:,.0f} MB), over the limit of {limits.zip_ratio:g} "
                "(CITEQA_MAX_ZIP_RATIO); a zip bomb? not read",
                "CITEQA_MAX_ZIP_RATIO",
            )


def _too_many(path: Path, kind: str, n: int, limits: ReadLimits) -> DocumentTooLarge:
    return DocumentTooLarge(
        path,
        f"{kind} file has {n:,} members, over the limit of {limits.zip_entries:,} (CITEQA_MAX_ZIP_ENTRIES); not read",
        "CITEQA_MAX_ZIP_ENTRIES",
    )


def _declared_entries(fh: BinaryIO) -> int | None:
    """The member count in the zip's end-of-central-directory record (or its zip64 one), None
    where no record is found (zipfile then says why the file is bad)."""
    end = fh.seek(0, 2)
    fh.seek(max(0, end - (22 + 65535)))  # the record, and a comment of up to 64 KB after it
    tail = fh.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) < at + 22:
        return None
    count = struct.unpack_from("<H", tail, at + 10)[0]
    if count != 0xFFFF:
        return count
    # zip64: the locator, just before the record, gives the offset of the zip64 record.
    if at < 20 or tail[at - 20 : at - 16] != _ZIP64_LOCATOR:
        return None
    fh.seek(struct.unpack_from("<Q", tail, at - 20 + 8)[0])
    record = fh.read(56)
    if len(record) < 40 or record[:4] != _ZIP64_EOCD:
        return None
    return struct.unpack_from("<Q", record, 32)[0]


def failure(path: Path, kind: str, exc: Exception) -> DocumentError:
    """The DocumentError for a library's exception while opening a `kind` file."""
    if isinstance(exc, zipfile.BadZipFile | EOFError):
        return DocumentError(path, f"corrupt or truncated {kind} file ({short(exc)})")
    return DocumentError(path, f"corrupt {kind} file ({short(exc)})")
