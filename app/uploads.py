"""Browser uploads → files under `<data dir>/uploads`, safely named, never overwriting.

A name is reduced to a plain file name (no folders, no `..`, no control
characters, no leading dot). When a different file already has that name the
upload gets a numbered suffix; when the same content is already stored under
it, the stored file is reused, so uploading a document twice does not index it
twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

ALLOWED_SUFFIXES = (".pdf", ".txt", ".md", ".markdown")
_MAX_NAME_BYTES = 200  # well under the 255 most file systems allow, leaving room for a suffix
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


class UploadRejected(Exception):
    """The upload is not stored; the message says why, for the user."""


@dataclass(frozen=True)
class Stored:
    name: str  # the name the browser sent
    path: Path
    outcome: Literal["new", "same", "renamed"]


def safe_name(name: str) -> str:
    """A file name that stays inside the uploads folder, keeping the extension."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    base = _UNSAFE.sub("_", base).strip().lstrip(".").strip()
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = ext.lower()
    stem = stem.strip(" .") or "upload"
    suffix = f".{ext}" if ext else ""
    while len((stem + suffix).encode("utf-8")) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return stem + suffix


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_digest(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _candidates(name: str) -> list[str]:
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    suffix = f".{ext}" if ext else ""
    return [name] + [f"{stem} ({i}){suffix}" for i in range(2, 1000)]


def store_upload(folder: Path, name: str, data: bytes, *, max_bytes: int) -> Stored:
    """Write `data` under `folder` as a safe version of `name`; see the module docstring."""
    if len(data) > max_bytes:
        raise UploadRejected(
            f"file is {len(data) / 2**20:.1f} MB, over the {max_bytes / 2**20:g} MB limit (CITEQA_MAX_FILE_MB)"
        )
    clean = safe_name(name)
    if not clean.lower().endswith(ALLOWED_SUFFIXES):
        raise UploadRejected(f"unsupported file type; upload {', '.join(ALLOWED_SUFFIXES)} files")
    if not data:
        raise UploadRejected("the file is empty")
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    digest = _digest(data)

    # Written whole to a temporary file first, then linked under its final name:
    # a name is only ever taken by a complete file, and link() fails rather than overwrite.
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        for i, candidate in enumerate(_candidates(clean)):
            target = root / candidate
            if target.parent != root:  # cannot happen after safe_name; kept as a guard
                raise UploadRejected("invalid file name")
            if target.exists():
                if _file_digest(target) == digest:
                    return Stored(name, target, "same")
                continue
            try:
                _publish(tmp, target, data)
            except FileExistsError:  # another session took the name meanwhile
                if _file_digest(target) == digest:
                    return Stored(name, target, "same")
                continue
            return Stored(name, target, "new" if i == 0 else "renamed")
        raise UploadRejected("too many files with this name in the library")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _publish(tmp: str, target: Path, data: bytes) -> None:
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: exclusive create instead
        with target.open("xb") as f:
            f.write(data)


def delete_stored(folder: Path, path: str | Path) -> bool:
    """Delete `path` if it is a file directly inside the uploads `folder`; True if deleted."""
    p = Path(path)
    try:
        if p.parent.resolve() != folder.resolve() or not p.is_file():
            return False
        p.unlink()
    except OSError:
        return False
    return True


def is_upload(folder: Path, path: str | Path) -> bool:
    try:
        return Path(path).parent.resolve() == folder.resolve()
    except OSError:
        return False
