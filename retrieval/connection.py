"""The connection to Milvus that a store and its siblings (the other collections of one index)
share: made, its refusal put in words, and replaced for all of them at once when the process
serving an embedded index stops."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any

from citeqa.core.errors import DataDirInUse, StoreError
from citeqa.retrieval.datadir import EmbeddedDataDir

log = logging.getLogger(__name__)


class Connection:
    """A MilvusClient shared by a store and its siblings; `uri` is where it connects."""

    def __init__(self, client: Any, uri: str) -> None:
        self.client = client
        self.uri = uri
        self.lock = threading.Lock()

    def reattached(self, fn: Any, datadir: EmbeddedDataDir) -> bool:
        """After `fn` (a method of a MilvusClient) failed: True when this connection now reaches
        the index where `fn`'s did not, because the process serving the embedded index stopped
        (this process then serves it, or the next holder does) or another thread got there first."""
        with self.lock:
            if getattr(fn, "__self__", None) is not self.client:
                return True
            try:
                if not datadir.reattach(self.uri):
                    return False
                old, (self.client, self.uri) = self.client, attach(datadir)
            except Exception:
                log.warning("the citeqa process serving the index stopped, and it could not be opened again", exc_info=True)
                return False
        with contextlib.suppress(Exception):
            old.close()
        log.info("the citeqa process serving the index stopped; now using %s", self.uri)
        # A newly opened index has every collection released (unsearchable): load those this
        # store and its siblings use, which were loaded by the one before.
        with contextlib.suppress(Exception):
            for name in self.client.list_collections():
                self.client.load_collection(name)
        return True


def connect(uri: str, token: str | None, datadir: EmbeddedDataDir | None) -> Connection:
    """A connection to the index at `uri` (`datadir`'s, when embedded). Raises DataDirInUse or
    StoreError, in words."""
    from pymilvus import MilvusClient

    try:
        if datadir is not None:
            # Embedded: the index is served by this process or by the one holding the data dir.
            return Connection(*attach(datadir))
        try:
            return Connection(MilvusClient(uri=uri, token=token or ""), uri)
        except Exception:
            # pymilvus shares one gRPC connection per server; after a couple of idle minutes
            # the server closes it ("too_many_pings") and the next client's handshake fails once.
            return Connection(MilvusClient(uri=uri, token=token or ""), uri)
    except Exception as exc:
        msg = str(exc)
        if "Open local milvus failed" in msg and datadir is not None:
            raise DataDirInUse(datadir.path, None) from exc
        if refused := refused_credentials(exc):
            raise StoreError(f"Milvus at {uri} refused the connection: {refused}") from exc
        raise StoreError(f"cannot connect to Milvus at {uri}: {msg.splitlines()[0] if msg else exc!r}") from exc


def attach(datadir: EmbeddedDataDir) -> tuple[Any, str]:
    """A MilvusClient for the data dir's index, served by this process or by the one holding the
    data dir; one that stopped between being found and being reached is replaced by the next."""
    from pymilvus import MilvusClient

    for attempt in range(3):
        uri, token = datadir.index_address()
        try:
            return MilvusClient(uri=uri, token=token), uri
        except Exception:
            if attempt == 2 or not datadir.reattach(uri):
                raise
    raise AssertionError("unreachable")


def refused_credentials(exc: BaseException) -> str | None:
    """What the server said when it refused the token, or None if it did not. pymilvus reports a
    refused token as "illegal connection params or server unavailable"; the server's own words
    are on the gRPC error it chained."""
    seen: BaseException | None = exc
    visited: set[int] = set()  # grpc's errors can be their own context: the chain may loop
    while seen is not None and id(seen) not in visited:
        visited.add(id(seen))
        code, details = getattr(seen, "code", None), getattr(seen, "details", None)
        if callable(code) and callable(details) and getattr(code(), "name", "") == "UNAUTHENTICATED":
            said = str(details() or "credentials refused")
            return said if "CITEQA_MILVUS_TOKEN" in said else f"{said}; check CITEQA_MILVUS_TOKEN"
        seen = seen.__cause__ or seen.__context__
    return None
