"""`citeqa serve-db` on a shared machine (#22): a token every client must send (CITEQA_MILVUS_TOKEN,
as a Milvus server takes user:password), or a Unix socket only this user can open. Real pymilvus
clients and the real CLI against the real server."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.cli import cli
from tests.conftest import REPO
from tests.test_one_writer import _env, _free_port, _wait_for

TOKEN = "citeqa:correct-horse-battery-staple"


def _serve_db(data: Path, *args: str, **env: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "citeqa.cli", "--data-dir", str(data), "serve-db", *args],
        cwd=REPO,
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _wait_for(proc, "listening on")
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(30)


def _cli(*args: str, **env: str):
    base = {"CITEQA_WORKERS": "1", "CITEQA_COLLECTION": "docs", "CITEQA_MILVUS_TOKEN": ""}
    return CliRunner().invoke(cli, list(args), env={**base, **env}, catch_exceptions=False)


def test_serve_db_with_a_token_refuses_clients_without_it(tmp_path: Path) -> None:
    from pymilvus import MilvusClient, MilvusException

    data = tmp_path / "data"
    doc = tmp_path / "note.md"
    doc.write_text("# Note\n\nThe boathouse key hangs behind the blue door.\n")
    port = _free_port()
    uri = f"http://127.0.0.1:{port}"
    server = _serve_db(data, "--port", str(port), CITEQA_MILVUS_TOKEN=TOKEN)
    try:
        # pymilvus as any other local user would use it: no token, a wrong one (one character off,
        # and the same token with more after it), then the right one.
        for wrong in ("", TOKEN[:-1], TOKEN + "x", "root:Milvus"):
            with pytest.raises(MilvusException) as refused:
                MilvusClient(uri=uri, token=wrong, timeout=10)
            cause = refused.value.__cause__
            assert cause is not None and cause.code().name == "UNAUTHENTICATED", wrong
            assert "CITEQA_MILVUS_TOKEN" in cause.details()
        client = MilvusClient(uri=uri, token=TOKEN, timeout=10)
        assert client.list_collections() == []
        client.close()

        # The CLI without the token: one clear line naming the setting, no traceback.
        r = _cli("docs", CITEQA_DATA_DIR=str(tmp_path / "other"), CITEQA_MILVUS_URI=uri)
        assert r.exit_code == 1
        assert "refused the connection" in r.output and "CITEQA_MILVUS_TOKEN" in r.output, r.output
        assert "Traceback" not in r.output
        # With it, the CLI ingests and searches through the server.
        with_token = {
            "CITEQA_DATA_DIR": str(tmp_path / "other"),
            "CITEQA_MILVUS_URI": uri,
            "CITEQA_MILVUS_TOKEN": TOKEN,
        }
        r = _cli("ingest", str(doc), "--json", **with_token)
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["files"]["added"] == 1
        r = _cli("search", "where is the boathouse key", "--json", "-k", "1", **with_token)
        assert json.loads(r.stdout)["hits"][0]["source"] == str(doc)
    finally:
        _stop(server)
    out = server.stdout.read() if server.stdout else ""
    assert "refused" in out and "without its token" in out and "127.0.0.1" in out  # refusals are logged
    # A server that is gone is a clear error at once, not a wait (and not read as a refused token),
    # from a fresh process as a user would run it (this one keeps pymilvus's connection).
    gone = subprocess.run(
        [sys.executable, "-m", "citeqa.cli", "docs"],
        cwd=REPO,
        env=_env(CITEQA_DATA_DIR=str(tmp_path / "other"), CITEQA_MILVUS_URI=uri, CITEQA_MILVUS_TOKEN=TOKEN),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gone.returncode == 1 and "cannot connect to Milvus" in gone.stderr, gone.stderr


def test_serve_db_on_a_unix_socket(tmp_path: Path) -> None:
    from pymilvus import MilvusClient

    data = tmp_path / "data"
    sock = tmp_path / "db.sock"
    server = _serve_db(data, "--uds", str(sock))
    try:
        mode = os.stat(sock).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600  # this user only
        client = MilvusClient(uri=f"unix:{sock}", timeout=10)
        assert client.list_collections() == []
        client.close()
        doc = tmp_path / "note.md"
        doc.write_text("# Note\n\nThe rowing boat was repainted green in April.\n")
        r = _cli(
            "ingest",
            str(doc),
            "--json",
            CITEQA_DATA_DIR=str(tmp_path / "other"),
            CITEQA_MILVUS_URI=f"unix:{sock}",
        )
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["files"]["added"] == 1
    finally:
        _stop(server)
    assert server.returncode == 0
    assert not sock.exists()  # removed on exit
    # What was ingested through the socket is in the data dir's own index.
    r = _cli("docs", "--json", CITEQA_DATA_DIR=str(data), CITEQA_MILVUS_URI="")
    assert r.exit_code == 0, r.output
    assert str(doc) in r.output
