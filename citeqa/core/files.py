"""Facts about files that several parts need the same way: content hashes, OS errors in words, and
keeping what citeqa stores private to its owner."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("citeqa")
_warned: set[str] = set()

# Group and others get no access to anything citeqa creates: 0700 folders, 0600 files.
PRIVATE_UMASK = 0o077


def keep_private() -> None:
    """From now on, files and folders this process creates are its owner's alone (umask |= 077).

    Process-wide on purpose: milvus-lite writes the index from its own threads and processes, which
    inherit the umask but would ignore a mode passed to our own calls. A stricter umask is kept."""
    old = os.umask(PRIVATE_UMASK)
    os.umask(old | PRIVATE_UMASK)


def exposed(path: str | Path) -> str | None:
    """Why others can read the existing folder `path` (its mode, and the fix), or None if they
    cannot or it does not exist: a folder others cannot enter keeps everything inside private."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if not stat.S_ISDIR(mode) or not mode & (stat.S_IRWXG | stat.S_IRWXO):
        return None
    return f"mode {stat.filemode(mode)}: other users of this machine can read it; make it private with: chmod -R go-rwx {path}"


def absolute_path(path: str | Path) -> str:
    """`path` made absolute as the user named it: "." and ".." resolved by name, symlinks kept.
    One spelling per file: "../docs/a.pdf" and "/home/me/docs/a.pdf" must be one document, not two
    (Path.absolute() keeps the ".."), while a symlinked folder keeps the name the user gave it."""
    return os.path.abspath(os.fspath(path))


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


def warn_if_exposed(data_dir: Path) -> str | None:
    """A one-line warning if others can read the existing `data_dir`, logged once per process."""
    why = exposed(data_dir)
    if why is None:
        return None
    message = f"data dir {data_dir} is not private ({why})"
    if str(data_dir) not in _warned:
        _warned.add(str(data_dir))
        log.warning("%s", message)
    return message
