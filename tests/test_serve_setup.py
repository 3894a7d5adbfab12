"""How the servers start: who may reach them, and the web app and the API on one index."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, SAMPLE_DOCS, make_settings, wait_for_port
from tests.serving import citeqa_cmd, env, free_port, start


@pytest.mark.parametrize(
    ("args", "key"),
    [
        (["serve", "--host", "0.0.0.0"], None),
        (["serve", "--host", "::"], None),
        (["serve", "--host", "0.0.0.0"], ""),  # an empty key is no key
        (["mcp", "--http", "--host", "0.0.0.0"], None),
    ],
)
def test_refuses_every_interface_without_an_api_key(args: list[str], key: str | None, tmp_path: Path) -> None:
    port = free_port()
    extra = {} if key is None else {"CITEQA_API_KEY": key}
    r = subprocess.run(
        citeqa_cmd(*args, "--port", str(port)),
        cwd=REPO,
        env=env(tmp_path / "data", **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1
    assert "refusing to listen" in r.stderr and "CITEQA_API_KEY" in r.stderr and "--host 127.0.0.1" in r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "data").exists()  # refused before opening anything


def test_a_taken_port_is_named(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = subprocess.run(
            citeqa_cmd("serve", "--port", str(port)), cwd=REPO, env=env(tmp_path / "data"), capture_output=True, text=True, timeout=120
        )
    assert r.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in r.stderr and "--port" in r.stderr


def test_api_and_web_app_share_one_index_through_serve_db(tmp_path: Path, embedder) -> None:
    """README, 'Several processes': serve-db, then the API and the app's engine on it."""
    from citeqa.engine import Citeqa

    data = tmp_path / "data"
    with Citeqa(make_settings(data), embedder=embedder) as qa:  # ingested before, embedded
        assert not qa.ingest([SAMPLE_DOCS]).failed

    db_port = free_port()
    uri = f"http://127.0.0.1:{db_port}"
    db = subprocess.Popen(
        citeqa_cmd("serve-db", "--port", str(db_port)), cwd=REPO, env=env(data), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    api = None
    try:
        wait_for_port(db_port, db)
        api = start(["serve"], data, tmp_path / "serve.log", CITEQA_MILVUS_URI=uri)  # no token: loopback
        assert httpx.get(f"{api.base}/healthz", timeout=30).json()["documents"] == 3
        # without a key, only requests addressed to loopback names are answered (DNS rebinding)
        port = api.base.rsplit(":", 1)[1]
        assert httpx.get(f"{api.v1}/models", headers={"Host": f"localhost:{port}"}, timeout=30).status_code == 200
        rebound = httpx.get(f"{api.v1}/documents", headers={"Host": f"attacker.example:{port}"}, timeout=30)
        assert rebound.status_code == 403 and "attacker.example" in rebound.json()["error"]["message"]
        app = Citeqa(make_settings(data, milvus_uri=uri), embedder=embedder)  # the web app's engine
        try:
            assert len(app.documents()) == 3
            sent = ("boats.md", b"# Boats\n\nThe station's rowing boat was repainted green in April.\n", "text/markdown")
            r = httpx.post(f"{api.v1}/documents", files=[("file", sent)], timeout=300)
            assert r.status_code == 200 and r.json()["data"][0]["status"] == "added", r.text
            uploaded = r.json()["data"][0]["path"]
            # what the API ingested, the app reads at once, and the other way round
            assert app.search("what colour is the rowing boat", top_k=1)[0].source == uploaded
            note = tmp_path / "keys.md"
            note.write_text("# Keys\n\nThe boathouse key hangs behind the blue door.\n")
            assert app.ingest([note]).count("added") == 1
            hits = httpx.post(f"{api.v1}/search", json={"query": "where is the boathouse key", "top_k": 1}, timeout=60).json()
            assert hits["hits"][0]["source"] == str(note)
            assert len(httpx.get(f"{api.v1}/documents", timeout=60).json()["data"]) == 5
        finally:
            app.close()
        _stop_while_answering(api)
    finally:
        if api is not None:
            api.stop()
        db.terminate()
        db.wait(30)


def _stop_while_answering(api) -> None:
    """SIGTERM while a question is being answered: the client gets a clean 503 (or its answer, if it
    came first), the server exits 0, and nothing is logged as a crash."""
    import threading

    box: dict = {}
    body = {"model": "docs", "messages": [{"role": "user", "content": "What is the maximum depth of Aurora Lake?"}]}
    asker = threading.Thread(
        target=lambda: box.update(r=httpx.post(f"{api.v1}/chat/completions", json=body, timeout=120)), daemon=True
    )
    asker.start()
    deadline = time.monotonic() + 60
    while httpx.get(f"{api.base}/healthz", timeout=30).json()["chat_model"]["answering"] == 0:
        assert time.monotonic() < deadline, "the question never started"
        time.sleep(0.05)
    api.proc.terminate()
    asker.join(120)
    r = box["r"]
    assert r.status_code == 200 or (r.status_code == 503 and r.json()["error"]["code"] == "shutting_down"), r.text
    assert api.proc.wait(60) == 0
    assert "Traceback" not in api.output() and "ERROR" not in api.output(), api.output()
