"""`citeqa watch` as a real process on real file events: a dropped file is answerable within
seconds, a deleted one is gone, a SIGKILL mid-sync loses nothing, and `citeqa search` and `docs`
work while it runs, during a sync too (the watcher serves the index)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from citeqa.core.errors import DataDirInUse
from tests.conftest import REPO, make_settings
from tests.serving import citeqa_cmd, env


def _start(data: Path, log: Path, *args: str) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(citeqa_cmd("watch", *args, "--collection", "w"), cwd=REPO, env=env(data),
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip


def _wait_log(log: Path, text: str, proc: subprocess.Popen, timeout: float = 120, count: int = 1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.read_text(errors="replace").count(text) >= count:
            return
        if proc.poll() is not None:
            pytest.fail(f"citeqa watch exited:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    pytest.fail(f"no {text!r} in the watcher's log within {timeout} s:\n{log.read_text(errors='replace')}")


def _paths(data: Path, embedder) -> set[str]:
    """The documents of collection w, opened for a moment (the watcher may hold the data dir)."""
    from citeqa.engine import Citeqa

    for _ in range(200):
        try:
            with Citeqa(make_settings(data, collection="w"), embedder=embedder) as qa:
                return {d.path for d in qa.documents()}
        except DataDirInUse:
            time.sleep(0.05)
    raise AssertionError("the data dir stayed busy")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


@pytest.mark.parametrize("how", ["events", "poll"])
def test_watch_adds_removes_and_shares_the_data_dir(tmp_path: Path, embedder, how: str):
    folder, data, log = tmp_path / "papers", tmp_path / "data", tmp_path / "watch.log"
    folder.mkdir()
    (folder / "first.md").write_text("The Kestrel grinder has a warranty of three years.\n")
    proc = _start(data, log, str(folder), *(["--poll"] if how == "poll" else []))
    try:
        _wait_log(log, "synced w: 1 added", proc)
        dropped = folder / "heron.md"
        dropped.write_text("The Heron pump delivers 40 litres per minute.\n")
        t0 = time.monotonic()
        while str(dropped) not in _paths(data, embedder):
            assert time.monotonic() - t0 < 5.0, log.read_text()
            time.sleep(0.2)
        # While it watches, another command works (between syncs).
        r = subprocess.run(citeqa_cmd("search", "Heron pump litres", "--collection", "w", "--json"), cwd=REPO,
                           env=env(data), capture_output=True, text=True, timeout=120)  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["hits"][0]["source"] == str(dropped)

        # A command started while the watcher syncs answers at once, from the index the watcher
        # serves: the sync is still under way when it is done.
        for i in range(150):
            (folder / f"batch{i:03}.md").write_text(f"Batch note {i} mentions the owl. " * 40 + "\n")
        _wait_sync_writing(data, log, proc)
        syncs = log.read_text().count("synced w:")
        r = subprocess.run(citeqa_cmd("docs", "--collection", "w", "--json"), cwd=REPO, env=env(data),
                           capture_output=True, text=True, timeout=300)  # fmt: skip
        assert r.returncode == 0, r.stderr
        assert "waiting" not in r.stderr
        assert log.read_text().count("synced w:") == syncs, "the sync was over before the command answered"
        assert str(dropped) in {d["path"] for d in json.loads(r.stdout)}
        _wait_log(log, "synced w:", proc, count=syncs + 1)
        r = subprocess.run(citeqa_cmd("docs", "--collection", "w", "--json"), cwd=REPO, env=env(data),
                           capture_output=True, text=True, timeout=300)  # fmt: skip
        listed = {d["path"] for d in json.loads(r.stdout)}
        assert str(folder / "batch149.md") in listed and len(listed) == 152

        dropped.unlink()
        t0 = time.monotonic()
        while str(dropped) in _paths(data, embedder):
            assert time.monotonic() - t0 < 5.0, log.read_text()
            time.sleep(0.2)
        assert str(folder / "first.md") in _paths(data, embedder)
        (folder / "old").mkdir()
        (folder / "first.md").rename(folder / "old" / "kestrel.md")  # moved: the old path goes, the new comes
        t0 = time.monotonic()
        while not {str(folder / "old" / "kestrel.md")} <= (now := _paths(data, embedder)) or str(folder / "first.md") in now:
            assert time.monotonic() - t0 < 8.0, log.read_text()
            time.sleep(0.2)
    finally:
        _stop(proc)
    # Remembered: `citeqa watch` alone resumes the folder.
    assert (data / "w.watch.txt").read_text().split() == [str(folder)]


def test_sigkill_mid_sync_loses_nothing(tmp_path: Path, embedder):
    folder, data, log = tmp_path / "notes", tmp_path / "data", tmp_path / "watch.log"
    folder.mkdir()
    (folder / "seed.md").write_text("Seed note.\n")
    proc = _start(data, log, str(folder))
    try:
        _wait_log(log, "synced w:", proc)
        for i in range(60):
            (folder / f"note{i:03}.md").write_text(f"Note {i} says the code word is word{i}. " * 40 + "\n")
        _wait_sync_writing(data, log, proc)
        time.sleep(1.0)  # well into the sync
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert log.read_text().count("synced w:") == 1, "the sync was over before the kill"
    finally:
        _stop(proc)
    proc = _start(data, log)  # no folder: the remembered one
    try:
        _wait_log(log, "synced w:", proc, count=2)
    finally:
        _stop(proc)
    want = {str(folder / "seed.md"), *(str(folder / f"note{i:03}.md") for i in range(60))}
    assert _paths(data, embedder) == want
    from citeqa.engine import Citeqa

    with Citeqa(make_settings(data, collection="w"), embedder=embedder) as qa:
        assert qa.ingest([folder]).count("unchanged") == 61  # every document whole, none to redo
        hits = qa.search("code word word37", top_k=1)
        assert hits[0].source == str(folder / "note037.md")


def _wait_sync_writing(data: Path, log: Path, proc: subprocess.Popen) -> None:
    """Until the watcher's sync has begun to change the index: the synced record goes first
    (citeqa.retrieval.datadir)."""
    deadline = time.monotonic() + 60
    while (data / "w.synced.json").exists():
        assert time.monotonic() < deadline and proc.poll() is None, log.read_text()
        time.sleep(0.02)


@pytest.mark.slow
def test_polling_watcher_idles_under_one_percent_of_a_core(tmp_path: Path):
    """A watched folder of 1,000 files: the idle watcher, polling (--poll), does not busy-poll.
    #26's target, 1% of a core, is measured alone by bench/collections.py (bench/README.md); beside
    a test on another worker each poll costs more CPU (1.2% seen), so the bound here is 2%."""
    folder, data, log = tmp_path / "many", tmp_path / "data", tmp_path / "watch.log"
    folder.mkdir()
    for i in range(1000):
        (folder / f"note{i:04}.md").write_text(f"Note {i} of the archive.\n")
    proc = _start(data, log, str(folder), "--poll")
    try:
        _wait_log(log, "synced w:", proc, timeout=600)
        time.sleep(3)
        c0, t0 = _cpu_s(proc.pid), time.monotonic()
        time.sleep(15)
        share = (_cpu_s(proc.pid) - c0) / (time.monotonic() - t0)
        assert share <= 0.02, f"idle watcher used {share:.2%} of a core"
    finally:
        _stop(proc)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
