"""One data dir, several citeqa processes (#26): the first to open the index serves it on loopback
(citeqa.retrieval.shared) and the others use it, without the user starting anything else. Real
processes: `citeqa serve`, `citeqa watch`, `citeqa search` and `ingest`, and engines in this one."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from citeqa.engine import Citeqa
from citeqa.retrieval import shared
from tests.conftest import REPO, make_settings
from tests.serving import citeqa_cmd, env, start


def _notes(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def _run(data: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(citeqa_cmd(*args), cwd=REPO, env=env(data), capture_output=True, text=True, timeout=300)


def test_commands_use_the_index_a_server_holds(tmp_path: Path, embedder):
    data = tmp_path / "data"
    kestrel = _notes(tmp_path / "docs", "kestrel.md", "The Kestrel grinder has a warranty of three years.\n")
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        qa.ingest([kestrel])
    server = start(["serve"], data, tmp_path / "serve.log", CITEQA_GENERATE="never")
    try:
        address = json.loads((data / shared.NAME).read_text())
        assert address["pid"] == server.proc.pid and address["uri"].startswith("http://127.0.0.1:")
        assert stat.S_IMODE((data / shared.NAME).stat().st_mode) == 0o600  # the token is the owner's alone

        # Reads and writes from other processes, while the server holds the data dir.
        r = _run(data, "search", "Kestrel warranty", "--json")
        assert r.returncode == 0, r.stderr
        assert "waiting" not in r.stderr and json.loads(r.stdout)["hits"][0]["source"] == str(kestrel)
        heron = _notes(tmp_path / "docs", "heron.md", "The Heron pump delivers 40 litres per minute.\n")
        r = _run(data, "ingest", str(heron))
        assert r.returncode == 0, r.stderr
        listed = httpx.get(f"{server.v1}/documents", timeout=60).json()["data"]
        assert {d["path"] for d in listed} == {str(kestrel), str(heron)}  # the server sees the CLI's ingest

        # The served index wants the token of the address file: another user of the machine can
        # reach the port, not read the file.
        from pymilvus import MilvusClient

        with pytest.raises(Exception, match=r"token|UNAUTHENTICATED|illegal connection"):
            MilvusClient(uri=address["uri"], token="guessed").list_collections()

        # An engine of this process uses the server's index; when the server stops, it carries on
        # with the index itself (and serves it in turn).
        with Citeqa(make_settings(data), embedder=embedder) as qa:
            assert qa.search("Heron pump litres")[0].source == str(heron)
            assert not qa.datadir.holds
            server.stop()
            assert qa.search("Kestrel warranty")[0].source == str(kestrel)
            assert qa.datadir.holds
            assert json.loads((data / shared.NAME).read_text())["pid"] == os.getpid()
        assert not (data / shared.NAME).exists()  # gone with the process serving it
    finally:
        server.stop()


def test_watch_syncs_while_a_server_holds_the_data_dir(tmp_path: Path, embedder):
    """`citeqa watch` beside `citeqa serve` (or the web app): the watcher uses the served index,
    and a dropped file is listed by the server within 5 s."""
    data, folder, log = tmp_path / "data", tmp_path / "papers", tmp_path / "watch.log"
    first = _notes(folder, "first.md", "The Kestrel grinder has a warranty of three years.\n")
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        qa.ingest([first])
    server = start(["serve"], data, tmp_path / "serve.log", CITEQA_GENERATE="never")
    with log.open("ab") as out:
        watcher = subprocess.Popen(citeqa_cmd("watch", str(folder)), cwd=REPO, env=env(data),
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "synced docs:" not in log.read_text():
            assert time.monotonic() < deadline and watcher.poll() is None, log.read_text()
            time.sleep(0.1)
        dropped = _notes(folder, "heron.md", "The Heron pump delivers 40 litres per minute.\n")
        t0 = time.monotonic()
        while str(dropped) not in {d["path"] for d in httpx.get(f"{server.v1}/documents", timeout=30).json()["data"]}:
            assert time.monotonic() - t0 < 5.0, log.read_text()
            time.sleep(0.2)
        hits = httpx.post(f"{server.v1}/search", json={"query": "Heron pump litres"}, timeout=60).json()["hits"]
        assert hits[0]["source"] == str(dropped)
        assert json.loads((data / shared.NAME).read_text())["pid"] == server.proc.pid
    finally:
        if watcher.poll() is None:
            watcher.send_signal(signal.SIGINT)
            watcher.wait(30)
        server.stop()


def test_an_address_left_by_a_killed_process_is_ignored(tmp_path: Path, embedder):
    data = tmp_path / "data"
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        qa.ingest([_notes(tmp_path / "docs", "a.md", "The Osprey kettle boils a litre in 90 seconds.\n")])
    (data / shared.NAME).write_text(json.dumps({"uri": "http://127.0.0.1:9", "token": "x", "pid": 2**22 + 1}))
    (data / "citeqa.pid").write_text(str(2**22 + 1))
    t0 = time.monotonic()
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        assert qa.search("Osprey kettle")[0].text.startswith("The Osprey kettle")
        assert qa.datadir.holds and time.monotonic() - t0 < 30
        assert json.loads((data / shared.NAME).read_text())["pid"] == os.getpid()


HOLD_LOCK = """
import fcntl, os, sys, time
fh = open(sys.argv[1], "a+")
fcntl.flock(fh, fcntl.LOCK_EX)
fh.seek(0); fh.truncate(); fh.write(str(os.getpid())); fh.flush()
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_holder_that_serves_nothing_yet_is_waited_for(tmp_path: Path, embedder, monkeypatch):
    """A process holding the data dir before it opens its index (loading its model, or about to
    exit) is waited for, then the data dir is taken; one that never shares it is named."""
    import sys

    from citeqa.core.errors import DataDirInUse
    from citeqa.retrieval import datadir

    data = tmp_path / "data"
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        qa.ingest([_notes(tmp_path / "docs", "a.md", "The Osprey kettle boils a litre in 90 seconds.\n")])

    def hold(seconds: float) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(data / "citeqa.pid"), str(seconds)],
                                stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        return proc

    holder = hold(2.0)
    t0 = time.monotonic()
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        assert qa.datadir.holds and time.monotonic() - t0 > 1.0  # waited for it, then took it
        assert qa.search("Osprey kettle")[0].text.startswith("The Osprey kettle")
    holder.wait(10)

    monkeypatch.setattr(datadir, "_WAIT_FOR_HOLDER_S", 1.0)
    holder = hold(30.0)
    try:
        with pytest.raises(DataDirInUse, match=f"in use by PID {holder.pid}, which has not shared its index"):
            Citeqa(make_settings(data), embedder=embedder)
    finally:
        holder.kill()
        holder.wait(10)


HOLD_INDEX = """
import sys
from citeqa.engine import Citeqa
from tests.conftest import make_settings
with Citeqa(make_settings(__import__("pathlib").Path(sys.argv[1]))) as qa:
    qa.open_index()
    print("serving", flush=True)
    sys.stdin.read()
"""


def test_a_client_carries_on_when_the_holder_is_killed(tmp_path: Path, embedder):
    """SIGKILL of the process serving the index: its address stays behind, its server is gone; an
    engine using it carries on with the index itself, nothing lost."""
    import sys

    data = tmp_path / "data"
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        qa.ingest([_notes(tmp_path / "docs", "a.md", "The Osprey kettle boils a litre in 90 seconds.\n")])
    holder = subprocess.Popen([sys.executable, "-c", HOLD_INDEX, str(data)], cwd=REPO, env=env(data),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "serving"
        with Citeqa(make_settings(data), embedder=embedder) as qa:
            assert qa.search("Osprey kettle")[0].source.endswith("a.md") and not qa.datadir.holds
            holder.kill()
            holder.wait(10)
            assert json.loads((data / shared.NAME).read_text())["pid"] == holder.pid  # left behind
            assert [d.path for d in qa.documents()] == [str(tmp_path / "docs" / "a.md")]
            assert qa.datadir.holds
            assert json.loads((data / shared.NAME).read_text())["pid"] == os.getpid()
    finally:
        holder.kill()
        holder.wait(10)
