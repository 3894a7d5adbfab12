"""Facts about files that several parts need the same way: content hashes and OS errors in words."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path


def content_hash(path: str | Path) -> str:
    """SHA-256 of the file's bytes, hex: a document's version in the manifest, and an upload's identity."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def os_reason(exc: OSError) -> str:
    """Why a file could not be read, as a user reads it ("permission denied")."""
    if exc.errno == errno.ELOOP:
        return "symlink loop"
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        return "no such file or directory"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()
