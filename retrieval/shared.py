"""The embedded index served by the process that holds the data dir, found by the others.

milvus-lite allows one process per data dir. The process that takes the data dir's lock (the web
app, `citeqa serve`, `citeqa watch`, an ingest, whichever came first) opens the index behind a gRPC
server of its own on loopback and writes its address and a fresh token to `citeqa.serving.json`
in the data dir (0600, like everything there). A citeqa process that finds the lock taken reads
that file and connects as a client instead of failing or waiting: the user starts nothing else.

The token keeps other users of the machine out (a port on loopback is open to every local user;
the file is readable by the owner alone). The file counts only while the process it names is
alive and still holds the lock: one left by a killed process is ignored. A client whose server
went away (its process stopped) attaches again: to the next holder, or it becomes the holder.

milvus-lite's engine takes one writer per collection at a time; the server runs every call
that changes something one at a time, whichever process sent it.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import logging
import os
import secrets
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

NAME = "citeqa.serving.json"

# Calls that change nothing run side by side; every other one waits for the one before it.
_READS = frozenset(
    [
        "Connect",
        "GetVersion",
        "CheckHealth",
        "HasCollection",
        "DescribeCollection",
        "ShowCollections",
        "Query",
        "Search",
        "HybridSearch",
        "DescribeIndex",
        "GetLoadingProgress",
        "GetLoadState",
        "HasPartition",
        "ShowPartitions",
        "GetFlushState",
        "GetCollectionStatistics",
        "GetPartitionStatistics",
        "ListDatabases",
        "DescribeDatabase",
        "DescribeAlias",
        "ListAliases",
        "GetCompactionState",
    ]
)
# pymilvus pings every 10 s, calls or not; gRPC's server allows a ping every 5 minutes without
# data and answers more with GOAWAY "too_many_pings" (logged to stderr by gRPC's core, and the
# connection dropped) after a couple of idle minutes: an idle web app or watcher would see it.
KEEPALIVE = (
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5000),
    ("grpc.http2.max_ping_strikes", 0),
)
_MAX_MESSAGE = 256 * 1024 * 1024  # as milvus-lite's own server: a batch of chunks with their vectors


@dataclass(frozen=True)
class Address:
    """Where the holder of a data dir serves its index, and the token it wants."""

    uri: str
    token: str
    pid: int


def read(data_dir: Path, holder: int | None) -> Address | None:
    """The address the data dir's holder `holder` (its pid, from the lock file) serves at; None
    when there is none, it is unreadable, or it was written by another process (a killed one)."""
    try:
        data = json.loads((data_dir / NAME).read_text(encoding="utf-8"))
        address = Address(str(data["uri"]), str(data["token"]), int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if holder is None or address.pid != holder or not _alive(address.pid):
        return None
    return address


def write(data_dir: Path, address: Address) -> None:
    fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".serving-")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"uri": address.uri, "token": address.token, "pid": address.pid}, fh)
        os.replace(tmp, data_dir / NAME)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def forget(data_dir: Path, pid: int) -> None:
    """Remove the address file if it is this process's (`pid`)."""
    path = data_dir / NAME
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        if int(json.loads(path.read_text(encoding="utf-8"))["pid"]) == pid:
            path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class IndexServer:
    """milvus-lite's engine on `milvus_path` behind a gRPC server on 127.0.0.1 (a free port) that
    wants `token`; this process's own store connects to it like any other."""

    def __init__(self, milvus_path: Path) -> None:
        from concurrent import futures

        import grpc
        from milvus_lite.adapter.grpc.servicer import MilvusServicer
        from milvus_lite.db import MilvusLite
        from pymilvus.grpc_gen import milvus_pb2_grpc

        self.token = secrets.token_urlsafe(32)
        self._db = MilvusLite(str(milvus_path))
        try:
            self._server = grpc.server(
                futures.ThreadPoolExecutor(max_workers=10, thread_name_prefix="citeqa-index"),
                interceptors=[guard(self.token)],
                options=[
                    ("grpc.max_receive_message_length", _MAX_MESSAGE),
                    ("grpc.max_send_message_length", _MAX_MESSAGE),
                    *KEEPALIVE,
                ],
            )
            milvus_pb2_grpc.add_MilvusServiceServicer_to_server(MilvusServicer(self._db), self._server)
            self.port = self._server.add_insecure_port("127.0.0.1:0")
            self._server.start()
        except BaseException:
            self._db.close()
            raise
        self.uri = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Finish the calls under way (2 s at most), then close the index."""
        with contextlib.suppress(Exception):
            self._server.stop(grace=2).wait(5)
        with contextlib.suppress(Exception):
            self._db.close()


def guard(token: str | None, refusal: str = "wrong or missing token for this citeqa index") -> Any:
    """A gRPC server interceptor: the token first (pymilvus sends it base64'd as `authorization`;
    None: no token, as `citeqa serve-db` without CITEQA_MILVUS_TOKEN), then one changing call at a
    time. A refused call is answered UNAUTHENTICATED with `refusal`, and logged with the client's
    address. (Made here: grpc is imported only by the process that serves.)"""
    import grpc

    want = base64.b64encode(token.encode()) if token is not None else None
    writes = threading.Lock()
    refused = _Refusals()

    def deny(request: Any, context: Any) -> None:
        refused.note(context.peer())
        context.abort(grpc.StatusCode.UNAUTHENTICATED, refusal)

    denied = grpc.unary_unary_rpc_method_handler(deny)

    class Guard(grpc.ServerInterceptor):
        def intercept_service(self, continuation: Any, details: Any) -> Any:
            got = dict(details.invocation_metadata or ()).get("authorization", "")
            if want is not None and not hmac.compare_digest(
                got.encode("latin-1") if isinstance(got, str) else got, want
            ):
                return denied
            handler = continuation(details)
            if handler is None or handler.unary_unary is None or details.method.rsplit("/", 1)[-1] in _READS:
                return handler
            inner = handler.unary_unary

            def one_at_a_time(request: Any, context: Any) -> Any:
                with writes:
                    return inner(request, context)

            return grpc.unary_unary_rpc_method_handler(
                one_at_a_time,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )

    return Guard()


class _Refusals:
    """Refused calls, logged with the client's address at most once a second: a flood of guesses
    must not flood the log too."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0
        self._logged = 0.0

    def note(self, peer: str) -> None:
        with self._lock:
            self._count += 1
            now = time.monotonic()
            if now - self._logged < 1.0:
                return
            count, self._count, self._logged = self._count, 0, now
        log.warning("refused %d call(s) to the index without its token (last from %s)", count, peer)
