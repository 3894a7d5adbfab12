"""Renaming a collection so that a crash at any moment loses nothing.

A rename is several changes: two Milvus collections (chunks and manifest), the uploads folder, the
uploaded documents' paths in the index, the records in the data dir and the saved chats. A process killed between
two of them would leave a collection that is neither OLD nor NEW whole (chunks renamed, manifest
not: listed under neither name). So the intent is written first, `rename.json` in the data dir,
and every step is one that can be run again: done, it is skipped. The journal is removed after
the last step. Whoever opens the index next (any citeqa command, the web app) finds a journal
left by a killed rename and finishes it, before anything else can touch the collections: the
collection is then NEW, whole.

`rename.lock` (flock) keeps two processes from working on one rename at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.core.collections import RECORD_SUFFIXES, uploads_dir
from citeqa.core.errors import Refused

if TYPE_CHECKING:
    from citeqa.retrieval.store import Store

JOURNAL = "rename.json"
_LOCK = "rename.lock"

log = logging.getLogger("citeqa")

# Called after each step with its name; tests set it to kill the process there.
after_step: Callable[[str], None] = lambda step: None  # noqa: E731


def rename(store: Store, data_dir: Path, old: str, new: str) -> None:
    """Rename collection `old` to `new` (both checked by the caller); `store` is any store on the
    index's connection."""
    src, dst = uploads_dir(data_dir, old), uploads_dir(data_dir, new)
    if src.exists() and dst.exists() and any(dst.iterdir()):
        raise Refused(f"{dst} holds files already; move them away, then rename the collection")
    with _locked(data_dir):
        _write(data_dir / JOURNAL, {"old": old, "new": new})
        after_step("journal")
        _finish(store, data_dir, old, new)


def finish_pending(store: Store, data_dir: Path) -> str | None:
    """Finish the rename a killed process left (the name it gave), or None if there is none."""
    if not (data_dir / JOURNAL).exists():
        return None
    with _locked(data_dir):
        try:
            intent = json.loads((data_dir / JOURNAL).read_text(encoding="utf-8"))
            old, new = str(intent["old"]), str(intent["new"])
        except FileNotFoundError:
            return None  # finished meanwhile by the process that held the lock
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable %s in the data dir", JOURNAL)
            (data_dir / JOURNAL).unlink(missing_ok=True)
            return None
        log.warning("finishing the rename of collection %s to %s, which was interrupted", old, new)
        _finish(store, data_dir, old, new)
        return new


def _finish(store: Store, data_dir: Path, old: str, new: str) -> None:
    (data_dir / f"{old}.synced.json").unlink(missing_ok=True)  # before the index changes (datadir)
    client = store.client
    for src_name, dst_name, step in ((old, new, "chunks"), (f"{old}_manifest", f"{new}_manifest", "manifest")):
        if store.call(client.has_collection, src_name):
            if store.call(client.has_collection, dst_name):
                # An empty one, made by a citeqa that opened NEW while another process renamed;
                # one with rows is never dropped.
                if _count(store, dst_name):
                    raise Refused(f"cannot finish renaming collection {old} to {new}: both hold documents")
                store.call(client.drop_collection, dst_name)
            store.call(client.rename_collection, src_name, dst_name)
        after_step(step)
    src, dst = uploads_dir(data_dir, old), uploads_dir(data_dir, new)
    if src.exists():
        dst.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if dst.exists():
            dst.rmdir()  # empty (checked before the journal was written)
        src.rename(dst)
    after_step("uploads")
    if store.call(client.has_collection, f"{new}_manifest"):
        moved = store.sibling(new)  # loads both collections (a renamed one is released)
        try:
            moved.move_sources(str(src), str(dst))
        finally:
            moved.close()
    after_step("sources")
    for suffix in RECORD_SUFFIXES:
        record = data_dir / f"{old}{suffix}"
        if record.exists():
            record.replace(data_dir / f"{new}{suffix}")
    _move_chats(data_dir, old, new)
    after_step("records")
    (data_dir / JOURNAL).unlink(missing_ok=True)


def _move_chats(data_dir: Path, old: str, new: str) -> None:
    """The web chat's saved chats of `old` (`<data dir>/chats/<user>/<collection>/`, citeqa.app.saved)
    go with it, file by file: a NEW folder left by a deleted collection of that name is kept, and a
    move cut short goes on where it stopped."""
    for user in (data_dir / "chats").glob("*"):
        src, dst = user / old, user / new
        if not src.is_dir():
            continue
        dst.mkdir(mode=0o700, exist_ok=True)
        for chat in src.iterdir():
            chat.replace(dst / chat.name)
        src.rmdir()


def _count(store: Store, name: str) -> int:
    store.call(store.client.load_collection, name)
    res = store.call(store.client.query, name, filter="", output_fields=["count(*)"])
    return int(res[0]["count(*)"])


def _write(path: Path, data: dict) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".rename-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(data_dir / _LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
