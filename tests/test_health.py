"""GET /healthz answers from a snapshot of the index taken on a thread of its own (issue 22): a
busy index (an ingest writing, a slow Milvus) never makes it wait, and its counts follow uploads."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient

from citeqa.server import health
from citeqa.server.app import create_app


def test_healthz_does_not_wait_for_a_busy_index(engine, monkeypatch) -> None:
    with TestClient(create_app(engine), base_url="http://127.0.0.1") as http:
        first = http.get("/healthz").json()
        assert first["status"] == "ok" and first["documents"] == 0 and first["info"]["passages"] == 0

        release = threading.Event()
        real = engine.documents

        def busy():  # the index held by a writer, as during an ingest
            release.wait(10)
            return real()

        monkeypatch.setattr(engine, "documents", busy)
        time.sleep(health.FRESH_S + 0.1)  # the snapshot is stale: the next request starts another
        try:
            for _ in range(3):
                t0 = time.monotonic()
                r = http.get("/healthz")
                assert time.monotonic() - t0 < 0.5 and r.status_code == 200
                assert r.json()["documents"] == 0 and r.json()["checked_s_ago"] >= health.FRESH_S
        finally:
            release.set()


def test_healthz_counts_follow_an_upload(engine) -> None:
    with TestClient(create_app(engine), base_url="http://127.0.0.1") as http:
        assert http.get("/healthz").json()["documents"] == 0
        r = http.post(
            "/v1/documents", files=[("file", ("heron.txt", b"The heron count at the north shore was 41.\n"))]
        )
        assert r.status_code == 200, r.text
        body = http.get("/healthz").json()
        assert body["documents"] == 1 and body["info"]["documents"] == 1 and body["info"]["passages"] >= 1
