"""An embedded data dir: milvus-lite's files, the one-process lock, and the synced record.

milvus-lite allows one process per data directory (a second one fails with a bare "Open local
milvus failed"). The pid lock here says which process holds the data dir: the first citeqa process
to open it. It serves the index to the others on loopback (citeqa.retrieval.shared), and a process
that finds the lock taken connects to it instead ("attached" without the lock). A holder that has
not opened its index yet (it is loading a model, or about to exit) is waited for; `serve-db`, which
serves without telling, is named.

The synced record, `<collection>.synced.json`, is the state the last complete ingest left,
readable without Milvus. Re-running an ingest over an unchanged folder is the nightly case, and
its cost should be hashing the files, not starting milvus-lite and importing pymilvus and a model
(about 3 s). The store writes the record after an ingest that left nothing pending and deletes it
before any change to the manifest, so it exists only while it matches the index exactly: a killed
run always finds it gone and takes the full path, which repairs what the run left.

Only for embedded data dirs: a Milvus server may be changed by other machines.

Everything here is its owner's alone: acquiring the data dir sets the process's umask so that
citeqa and milvus-lite create 0700 folders and 0600 files.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO

from citeqa.core.errors import ConfigError, DataDirInUse, StoreError
from citeqa.core.files import keep_private
from citeqa.core.netaddr import is_loopback
from citeqa.core.types import DocumentRecord, SyncedFile
from citeqa.retrieval import shared

_FORMAT = 1
LOCK_NAME = "citeqa.pid"
SERVE_DB_MARK = "serve-db"  # after the pid: the holder serves at an address it does not write down
# How long a process waits for a holder that serves nothing yet: a holder opens its index within
# seconds of starting work (after loading the embedding model), or is done and lets go.
_WAIT_FOR_HOLDER_S = 60.0

log = logging.getLogger("citeqa")


class EmbeddedDataDir:
    def __init__(self, path: Path, collection: str) -> None:
        self.path = Path(path)
        self.collection = collection
        self.lock_path = self.path / LOCK_NAME
        self.synced_path = self.path / f"{collection}.synced.json"
        self._fh: IO[str] | None = None
        self._owner: EmbeddedDataDir | None = None
        self._server: shared.IndexServer | None = None  # the holder's, once its index is opened
        self._attached: shared.Address | None = None  # another holder's, this process its client
        self._serve_lock = threading.Lock()

    def view(self, collection: str) -> EmbeddedDataDir:
        """The same data dir for another of its collections: its own synced record, this one's
        lock (one process holds the data dir, whichever collections it serves; a second flock on
        the same file from this process would refuse it)."""
        other = EmbeddedDataDir(self.path, collection)
        other._owner = self._owner or self
        return other

    @property
    def milvus_path(self) -> Path:
        return self.path / "milvus.db"

    # -- the lock -------------------------------------------------------------

    @property
    def locked(self) -> bool:
        """Whether this process holds the data dir (or uses another holder's index: `attached`)."""
        if self._owner is not None:
            return self._owner.locked
        return self._fh is not None or self._attached is not None

    @property
    def holds(self) -> bool:
        return self._owner.holds if self._owner is not None else self._fh is not None

    def acquire(self, *, share: bool = True) -> None:
        """Take the data dir, or (with `share`) attach to the process that holds it and serves its
        index; a holder that serves nothing yet is waited for (DataDirInUse naming it after a
        minute). Without `share` (serve-db, which serves the files itself) only the lock will do,
        and the lock file says so."""
        if self._owner is not None:
            self._owner.acquire(share=share)
            return
        if self.holds or (share and self.locked):
            return
        keep_private()  # the index, the record and milvus-lite's files: 0700 folders, 0600 files
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        fh = open(self.lock_path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            address = self._lock(fh, share)
        except BaseException:
            fh.close()
            raise
        if address is not None:
            fh.close()
            self._attached = address
            return
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()) if share else f"{os.getpid()} {SERVE_DB_MARK}")
        fh.flush()
        self._fh = fh

    def _lock(self, fh: IO[str], share: bool) -> shared.Address | None:
        """Take the lock (None), or the address its holder serves the index at."""
        told = False
        deadline = time.monotonic() + _WAIT_FOR_HOLDER_S
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return None
            except OSError:
                fh.seek(0)
                words = fh.read().split()
            pid = int(words[0]) if words and words[0].isdigit() else None
            address = shared.read(self.path, pid) if share else None
            if address is not None:
                log.debug("using the index served by PID %s", pid)
                return address
            serve_db = SERVE_DB_MARK in words[1:]
            if not share or serve_db or time.monotonic() > deadline:
                raise DataDirInUse(self.path, pid, served_by_serve_db=serve_db, waited=share and not serve_db) from None
            if not told:
                log.warning("waiting for PID %s, which holds the data dir and serves it as soon as it opens it", pid)
                told = True
            time.sleep(0.1)

    def index_address(self) -> tuple[str, str]:
        """The URI and token to reach the index at: this process's own server (started on first
        use, its address written for the others), or the holder's it is attached to."""
        if self._owner is not None:
            return self._owner.index_address()
        self.acquire()
        if self._attached is not None:
            return self._attached.uri, self._attached.token
        with self._serve_lock:
            if self._server is None:
                self._server = shared.IndexServer(self.milvus_path)
                shared.write(self.path, shared.Address(self._server.uri, self._server.token, os.getpid()))
            return self._server.uri, self._server.token

    def reattach(self, uri: str) -> bool:
        """After a call to the index at `uri` failed: True (and attached anew, or now the holder)
        if the process serving it there is gone; False if it still serves there (the failure was
        the call's own)."""
        if self._owner is not None:
            return self._owner.reattach(uri)
        if self._attached is None or self._attached.uri != uri:
            return False
        with self._serve_lock:
            still = shared.read(self.path, self._attached.pid)
            if still is not None and still.uri == uri:
                return False
            self._attached = None
        self.acquire()
        return True

    def release(self) -> None:
        # A view leaves the lock to its owner, which the engine releases when it closes. The
        # address goes first, then the server (its calls under way finish), then the lock: a
        # client that fails meanwhile waits for the lock and takes over.
        if self._owner is not None:
            return
        self._attached = None
        with self._serve_lock:
            if self._server is not None:
                shared.forget(self.path, os.getpid())
                self._server.stop()
                self._server = None
        self._release_lock()

    def _release_lock(self) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> EmbeddedDataDir:
        self.acquire(share=False)  # serve-db: the lock itself, never another process's index
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- serving it ------------------------------------------------------------

    def serve(
        self,
        host: str,
        port: int,
        on_ready: Callable[[], None] | None = None,
        *,
        token: str | None = None,
        uds: str | None = None,
    ) -> None:
        """Serve this data dir's index as a Milvus gRPC server until Ctrl-C or SIGTERM, holding the
        lock all the while: a citeqa without CITEQA_MILVUS_URI is then told who holds the index.

        On loopback only, or on the Unix socket `uds` (mode 0600): the served index is not
        encrypted. With `token` (CITEQA_MILVUS_TOKEN) every call must carry it
        (citeqa.retrieval.served); without one, any user of this machine can reach a loopback port."""
        import signal
        import socket

        from citeqa.retrieval import served

        if uds:
            from citeqa.core.netaddr import free_socket_path

            free_socket_path(uds)
            address = f"unix:{Path(uds).absolute()}"
        else:
            if not is_loopback(host):
                raise ConfigError(
                    f"serve-db listens on loopback only (--host 127.0.0.1), not {host}: the served index is "
                    "not encrypted. To share an index between machines, run a Milvus server with authentication "
                    "enabled (see README, 'Milvus server or Zilliz Cloud') and set CITEQA_MILVUS_URI and CITEQA_MILVUS_TOKEN"
                )
            with socket.socket() as probe:  # grpc's own bind error is a bare "Failed to bind"
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((host, port))
                except OSError as exc:
                    raise StoreError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None
            address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

        def stop(*_: object) -> None:
            raise KeyboardInterrupt  # the server drains requests and closes the index on it

        with self:
            signal.signal(signal.SIGTERM, stop)
            served.run(str(self.milvus_path), address=address, token=token, on_ready=on_ready)

    # -- the synced record ----------------------------------------------------

    def write_synced(self, embed_name: str, docs: Iterable[DocumentRecord]) -> None:
        """Atomically record `docs` (committed documents only) as the index's whole content."""
        data = {
            "format": _FORMAT,
            "embed": embed_name,
            "docs": {d.path: [d.content_hash, d.pages, d.chunks] for d in docs},
        }
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".synced-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, self.synced_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def invalidate_synced(self) -> None:
        self.synced_path.unlink(missing_ok=True)

    def read_synced(self, embed_name: str) -> dict[str, SyncedFile] | None:
        """{path: what the index holds of it} as recorded, or None if absent, unreadable or made
        with another embedding model."""
        try:
            data = json.loads(self.synced_path.read_text(encoding="utf-8"))
            if data.get("format") != _FORMAT or data.get("embed") != embed_name:
                return None
            return {p: SyncedFile(str(h), int(pages), int(chunks)) for p, (h, pages, chunks) in data["docs"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None
