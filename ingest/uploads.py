"""Uploaded files (web app, HTTP API) → files under `<data dir>/uploads`, safely named, never overwriting.

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
import tempfile
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pathvalidate import sanitize_filename

from citeqa.core.files import content_hash, os_reason
from citeqa.core.settings import Settings
from citeqa.core.types import FileResult, IngestProgress, IngestReport, UploadResult
from citeqa.ingest.loaders import SUPPORTED_SUFFIXES

_MAX_NAME_BYTES = 200  # well under the 255 most file systems allow, leaving room for a suffix


class UploadRejected(Exception):
    """The upload is not stored; the message says why, for the user."""


@dataclass(frozen=True)
class Stored:
    name: str  # the name the browser sent
    path: Path
    outcome: Literal["new", "same", "renamed"]


def safe_name(name: str) -> str:
    """A file name that stays inside the uploads folder, keeping the extension: the browser's
    folders are dropped, then pathvalidate removes what no file system allows (control and
    reserved characters, names like CON) and bounds the length in bytes."""
    base = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1]).strip().lstrip(".")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    suffix = "." + sanitize_filename(ext.lower(), replacement_text="_") if ext else ""
    room = _MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    stem = sanitize_filename(stem.strip(" ."), platform="universal", replacement_text="_", max_len=room)
    return (stem.strip(" .") or "upload") + suffix


def _file_digest(path: Path) -> str | None:
    try:
        return content_hash(path)
    except OSError:
        return None


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
    if not clean.lower().endswith(tuple(SUPPORTED_SUFFIXES)):
        raise UploadRejected(f"unsupported file type; upload {', '.join(sorted(SUPPORTED_SUFFIXES))} files")
    if not data:
        raise UploadRejected("the file is empty")
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    digest = hashlib.sha256(data).hexdigest()

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


_NOTES = {
    "new": "",
    "renamed": "another file has this name; stored as {name}",
    "same": "identical to a file already in the library",
}


class _Engine(Protocol):
    settings: Settings

    def ingest(self, paths: Sequence[str | Path], *, on_progress: Callable[[IngestProgress], None] | None) -> IngestReport: ...


def ingest_uploads(
    engine: _Engine,
    uploads: Sequence[tuple[str, bytes]],
    *,
    on_progress: Callable[[IngestProgress], None] | None = None,
) -> list[UploadResult]:
    """Store each (name, bytes) upload, ingest what was stored, and delete stored files that failed."""
    settings = engine.settings
    folder = settings.uploads_dir
    out: list[UploadResult] = []
    stored_at: dict[str, int] = {}  # stored path -> index of its upload in `out`
    for name, data in uploads:
        try:
            stored = store_upload(folder, name, data, max_bytes=settings.max_file_bytes)
        except UploadRejected as exc:
            out.append(UploadResult(name, FileResult("", "failed", error=str(exc))))
            continue
        except OSError as exc:
            out.append(UploadResult(name, FileResult("", "failed", error=f"cannot store the upload: {os_reason(exc)}")))
            continue
        key = str(stored.path)
        if key in stored_at:  # the same content twice in one batch
            out.append(UploadResult(name, FileResult(key, "unchanged"), "identical to another file in this upload"))
            continue
        stored_at[key] = len(out)
        out.append(UploadResult(name, FileResult(key, "added"), _NOTES[stored.outcome].format(name=stored.path.name)))
    if stored_at:
        results: list[FileResult] = []

        def collect(p: IngestProgress) -> None:
            if p.result is not None:
                results.append(p.result)
            if on_progress is not None:
                on_progress(p)

        engine.ingest(list(stored_at), on_progress=collect)
        for r in results:
            if (i := stored_at.get(r.path)) is None:
                continue
            if r.status == "failed":
                delete_stored(folder, r.path)  # not indexed: keep no orphan copy
            out[i] = UploadResult(out[i].name, r, out[i].note)
    return out
