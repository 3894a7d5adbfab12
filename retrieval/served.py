"""`citeqa serve-db`'s server: the data dir's milvus-lite index over gRPC, with an optional token.

`milvus-lite server` checks no credentials, so on a machine shared with other users anyone could
read and change a served index through loopback. This runs the same servicer over the same files
(milvus-lite's MilvusServicer over MilvusLite, as its own run_server does; milvus-lite is pinned
to one version) behind citeqa.retrieval.shared's guard, which also runs changing calls one at a
time (milvus-lite's engine takes one writer per collection), with two ways to keep other users out:

* a token: with CITEQA_MILVUS_TOKEN set, every call must carry it as pymilvus sends a Milvus
  token (the `authorization` metadata, base64 of the token, which Milvus writes as user:password).
  A citeqa client sends it from the same setting, so one exported variable serves both sides.
  Refusals are logged with the client's address;
* a Unix socket (`--uds PATH`, mode 0600): only this user can connect; clients set
  CITEQA_MILVUS_URI=unix:PATH, which pymilvus opens itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent import futures

from citeqa.core.errors import StoreError

# As milvus-lite's own server: ten worker threads, 256 MB messages (Milvus Standalone's limit).
_WORKERS = 10
_MAX_MESSAGE = 256 * 1024 * 1024
_GRACE_S = 5.0  # in-flight calls finished on Ctrl-C or SIGTERM before the index is closed

REFUSED = (
    "citeqa serve-db requires a token: set CITEQA_MILVUS_TOKEN to the one it was started with "
    "(the same value on both sides)"
)


def run(
    milvus_path: str,
    *,
    address: str,
    token: str | None,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve milvus-lite's index at `milvus_path` on gRPC `address` ("host:port" or "unix:PATH")
    until KeyboardInterrupt, refusing calls without `token` when one is given. The caller holds
    the data dir's lock and has checked that the address is free."""
    import grpc
    from milvus_lite.adapter.grpc.servicer import MilvusServicer
    from milvus_lite.db import MilvusLite
    from pymilvus.grpc_gen import milvus_pb2_grpc

    from citeqa.retrieval import shared

    db = MilvusLite(milvus_path)
    try:
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=_WORKERS),
            interceptors=[shared.guard(token, REFUSED)],
            options=[
                ("grpc.max_receive_message_length", _MAX_MESSAGE),
                ("grpc.max_send_message_length", _MAX_MESSAGE),
                *shared.KEEPALIVE,  # pymilvus's pings, without GOAWAY too_many_pings when idle
            ],
        )
        milvus_pb2_grpc.add_MilvusServiceServicer_to_server(MilvusServicer(db), server)
        # A Unix socket is created 0600 (gRPC binds here): no moment where another user could connect.
        previous = os.umask(0o177) if address.startswith("unix:") else None
        try:
            bound = server.add_insecure_port(address)
        except RuntimeError:  # grpc's "Failed to bind"; the caller has checked, but races are possible
            bound = 0
        finally:
            if previous is not None:
                os.umask(previous)
        if not bound:
            raise StoreError(f"cannot listen on {address}; choose another --port or --uds path")
        server.start()
        try:
            if on_ready is not None:
                on_ready()
            server.wait_for_termination()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop(grace=_GRACE_S).wait()
    finally:
        db.close()
        if address.startswith("unix:"):
            with contextlib.suppress(OSError):
                os.unlink(address.removeprefix("unix:"))
