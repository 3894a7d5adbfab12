"""One process per embedded data dir, which serves it to the others (or is named by PID: serve-db); `citeqa serve-db` to share it by address; `citeqa docs` on both backends."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.cli import cli
from tests.conftest import REPO, SAMPLE_DOCS, make_settings, wait_for_port

HOLD_WITH_API = """
import sys
from citeqa.core.settings import Settings
from citeqa.retrieval.store import Store
store = Store.open(Settings(_env_file=None, data_dir=sys.argv[1]), embed_name="all-MiniLM-L6-v2", dim=384)
print("ready", flush=True)
sys.stdin.read()  # hold until the test closes stdin (or kills us)
"""


def _env(**kw: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO), **kw)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(proc: subprocess.Popen, pattern: str, timeout: float = 120) -> str:
    """Read proc's stdout lines until one contains `pattern`."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"process exited ({proc.wait()}) before printing {pattern!r}: {''.join(seen)}")
        seen.append(line)
        if pattern in line:
            return line
    pytest.fail(f"no {pattern!r} within {timeout}s: {''.join(seen)}")


def _cli(*args: str, **env: str):
    base = {"CITEQA_WORKERS": "1", "CITEQA_MILVUS_URI": "", "CITEQA_COLLECTION": "docs"}
    return CliRunner().invoke(cli, list(args), env={**base, **env}, catch_exceptions=False)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
        proc.wait(30)


@pytest.mark.parametrize("holder", ["api", "serve-db"])
def test_second_process_uses_the_holders_index_or_is_told_its_pid(
    tmp_path: Path, monkeypatch, holder: str
) -> None:
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    doc = tmp_path / "note.md"
    doc.write_text("# Note\n\nThe boathouse key hangs behind the blue door.\n")
    if holder == "api":
        cmd = [sys.executable, "-c", HOLD_WITH_API, str(data)]
        ready = "ready"
    else:
        cmd = [
            sys.executable,
            "-m",
            "citeqa.cli",
            "--data-dir",
            str(data),
            "serve-db",
            "--port",
            str(_free_port()),
        ]
        ready = "listening on"
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(proc, ready)
        r = _cli("ingest", str(doc), CITEQA_DATA_DIR=str(data))
        if holder == "api":
            # A citeqa process serves the index it holds (citeqa.retrieval.shared): used, not refused.
            assert r.exit_code == 0, r.output
        else:
            # serve-db serves where only its user knows (CITEQA_MILVUS_URI): it is named.
            assert r.exit_code == 1
            assert f"data dir {data} in use by PID {proc.pid}" in r.output, r.output
            assert "Traceback" not in r.output
        # A crashed holder leaves its PID in the lock file (and its address), but the lock itself
        # dies with it.
        proc.kill()
        proc.wait(30)
        assert (data / "citeqa.pid").read_text().split()[0] == str(proc.pid)
        r = _cli("ingest", str(doc), "--json", CITEQA_DATA_DIR=str(data))
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["files"]["added" if holder == "serve-db" else "unchanged"] == 1
    finally:
        _stop(proc)


def test_ingest_while_the_app_runs_through_serve_db(tmp_path: Path, monkeypatch, embedder) -> None:
    """README, 'Several processes': serve the data dir, point the app and the CLI at it."""
    from citeqa.engine import Citeqa

    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data"
    first, second = tmp_path / "a.md", tmp_path / "b.md"
    first.write_text("# Boats\n\nThe rowing boat was repainted green in April.\n")
    second.write_text("# Keys\n\nThe boathouse key hangs behind the blue door.\n")
    assert _cli("ingest", str(first), CITEQA_DATA_DIR=str(data)).exit_code == 0  # embedded, before serving

    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "citeqa.cli", "--data-dir", str(data), "serve-db", "--port", str(port)],
        cwd=REPO,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for_port(port, server)
        app = Citeqa(
            make_settings(tmp_path / "app-data", milvus_uri=uri), embedder=embedder
        )  # the web app's engine
        try:
            # the served index is the embedded one: what was ingested before is there
            assert [d.path for d in app.documents()] == [str(first)]
            r = _cli("ingest", str(second), "--json", CITEQA_DATA_DIR=str(data), CITEQA_MILVUS_URI=uri)
            assert r.exit_code == 0, r.output
            assert json.loads(r.stdout)["files"]["added"] == 1
            # the running app sees the new document at once
            assert {d.path for d in app.documents()} == {str(first), str(second)}
            assert app.search("where is the boathouse key", top_k=1)[0].source == str(second)
        finally:
            app.close()
        r = _cli(
            "search",
            "rowing boat colour",
            "--json",
            "-k",
            "1",
            CITEQA_DATA_DIR=str(data),
            CITEQA_MILVUS_URI=uri,
        )
        assert json.loads(r.stdout)["hits"][0]["source"] == str(first)
        # an embedded command while served is refused, naming the server's PID
        r = _cli("docs", CITEQA_DATA_DIR=str(data))
        assert r.exit_code == 1 and f"in use by PID {server.pid}" in r.output
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            rc = server.wait(30)
            assert rc == 0, server.stdout.read() if server.stdout else rc  # SIGTERM shuts down cleanly
        finally:
            _stop(server)
    # stopped, the data dir is embedded again, with both documents
    docs = json.loads(_cli("docs", "--json", CITEQA_DATA_DIR=str(data)).stdout)
    assert {d["path"] for d in docs} == {str(first), str(second)}


def test_docs_lists_and_removes(backend_settings, tmp_path: Path, monkeypatch, embedder) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "docs"
    shutil.copytree(SAMPLE_DOCS, folder)
    s = backend_settings
    env = {
        "CITEQA_DATA_DIR": str(s.data_dir),
        "CITEQA_MILVUS_URI": s.milvus_uri or "",
        "CITEQA_COLLECTION": s.collection,
    }
    try:
        t0 = time.time()
        assert _cli("ingest", str(folder), **env).exit_code == 0
        listed = json.loads(_cli("docs", "--json", **env).stdout)
        assert [Path(d["path"]).name for d in listed] == sorted(p.name for p in SAMPLE_DOCS.iterdir())
        for d in listed:
            assert set(d) == {"path", "pages", "chunks", "content_hash", "ingested_at"}
            assert d["content_hash"] == hashlib.sha256(Path(d["path"]).read_bytes()).hexdigest()
            assert d["chunks"] >= 1 and t0 - 1 <= d["ingested_at"] <= time.time() + 1
        by_name = {Path(d["path"]).name: d for d in listed}
        assert by_name["aurora_lake_field_station_2023.pdf"]["pages"] == 3
        assert by_name["kestrel_k2_handbook.md"]["pages"] == 1

        lines = _cli("docs", **env).stdout.splitlines()
        pdf = by_name["aurora_lake_field_station_2023.pdf"]
        assert any(
            ln.startswith(pdf["path"] + "\t")
            and f"\t3 pages\t{pdf['chunks']} chunks\t{pdf['content_hash'][:12]}\t" in ln
            for ln in lines
        ), lines

        total = json.loads(_cli("stats", "--json", **env).stdout)["chunks"]
        r = _cli("docs", "remove", pdf["path"], **env)
        assert r.exit_code == 0 and r.stdout.strip() == f"removed {pdf['path']}"
        assert json.loads(_cli("stats", "--json", **env).stdout)["chunks"] == total - pdf["chunks"]
        assert pdf["path"] not in {d["path"] for d in json.loads(_cli("docs", "--json", **env).stdout)}

        r = _cli("docs", "remove", str(folder), **env)  # a folder: only when asked for explicitly
        assert r.exit_code != 0 and "--yes" in r.output
        r = _cli("docs", "remove", str(folder), "--yes", **env)  # then everything under it
        assert r.exit_code == 0 and len(r.stdout.splitlines()) == 2
        r = _cli("docs", "--json", **env)  # nothing left: said so, with the command that adds some
        assert r.exit_code == 1 and "No documents are indexed" in r.output and "citeqa ingest" in r.output
        assert json.loads(_cli("stats", "--json", **env).stdout)["chunks"] == 0
        r = _cli("docs", "remove", str(folder / "nothing.pdf"), **env)
        assert r.exit_code == 1 and "no ingested document matches" in r.output
    finally:
        if s.milvus_uri:
            from citeqa.retrieval.store import Store

            with Store.open(s, embed_name=embedder.name, dim=embedder.dim) as store:
                store.drop()
