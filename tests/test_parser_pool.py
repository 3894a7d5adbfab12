"""The parser processes are kept between ingests (citeqa.ingest.parsers): a one-file ingest in a
warm engine starts none, a stuck reader is still killed with the rest of its batch read, and no
parser is left running once the engine is closed or its program has exited. Real files, real
processes, observed from outside: the parsers are the children of multiprocessing's fork server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from citeqa.ingest.formats.base import STALLED
from tests.conftest import REPO, make_settings


def parsers() -> set[int]:
    """The parser processes running for this test process: children of its fork server."""
    out: set[int] = set()
    for child in psutil.Process().children():
        try:
            if "multiprocessing.forkserver" in " ".join(child.cmdline()):
                out |= {p.pid for p in child.children() if p.status() != psutil.STATUS_ZOMBIE}
        except psutil.Error:
            continue
    return out


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def gone(pids: set[int], timeout: float = 10.0) -> bool:
    """Whether every one of `pids` has ended within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while any(running(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def note(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text + "\n", encoding="utf-8")
    return path


def test_ingests_in_one_engine_share_their_parser_process(tmp_path: Path, embedder) -> None:
    """Each one-file ingest, in any collection, is read by the same parser process; one killed
    between ingests (from outside) is replaced by the next ingest that needs one."""
    from citeqa.engine import Citeqa

    before = parsers()
    docs = tmp_path / "docs"
    with Citeqa(make_settings(tmp_path / "data", parse_timeout=30), embedder=embedder) as qa:
        assert qa.ingest([note(docs, "a.txt", "The heron colony counted 212 nests in May.")]).count("added") == 1
        first = parsers() - before
        assert len(first) == 1, "the parser process did not outlast the ingest"
        assert qa.ingest([note(docs, "b.txt", "The ferry leaves at 06:40 on weekdays.")]).count("added") == 1
        assert parsers() - before == first
        other = qa.collection("field_notes")
        assert other.ingest([note(docs, "c.txt", "The lighthouse bell rang forty times.")]).count("added") == 1
        assert parsers() - before == first, "another collection started parsers of its own"

        (pid,) = first
        os.kill(pid, signal.SIGKILL)
        assert gone(first)
        assert qa.ingest([note(docs, "d.txt", "The pier was rebuilt in 1871.")]).count("added") == 1
        replaced = parsers() - before
        assert len(replaced) == 1 and not replaced & first
        assert "1871" in qa.search("When was the pier rebuilt?", top_k=1)[0].text
    assert gone(replaced), "a parser process outlived Citeqa.close()"


def test_a_stuck_reader_is_killed_and_the_kept_pool_reads_on(tmp_path: Path, embedder) -> None:
    """A reader that makes no progress is still stopped by killing its process, kept between
    ingests or not: its file fails naming the setting, the rest of its batch is read by the
    process that replaced it, and that one serves the next ingest."""
    from citeqa.engine import Citeqa

    before = parsers()
    docs = tmp_path / "docs"
    with Citeqa(make_settings(tmp_path / "data", parse_timeout=0.5), embedder=embedder) as qa:
        assert qa.ingest([note(docs, "b_note.txt", "The keeper rang the bell forty times.")]).count("added") == 1
        kept = parsers() - before
        assert len(kept) == 1
        sentence = "The harbour master counted {} boats in the bay before the storm arrived. "
        note(docs, "a_long.txt", "".join(sentence.format(i) for i in range(150_000)))  # many seconds of reading
        note(docs, "c_note.txt", "The ferry to the island left at dawn every Sunday.")
        report = qa.ingest([docs])
        assert {Path(f.path).name: f.error for f in report.failed} == {"a_long.txt": STALLED}
        assert report.count("added") == 1 and report.count("unchanged") == 1
        assert gone(kept), "the stuck parser was not killed"
        replacement = parsers() - before
        assert len(replacement) == 1 and not replacement & kept
        assert qa.ingest([note(docs, "d_note.txt", "The pier was rebuilt in 1871.")]).count("added") == 1
        assert parsers() - before == replacement
    assert gone(replacement)


def test_a_stopped_ingest_leaves_the_pool_ready(tmp_path: Path, embedder) -> None:
    """An ingest that stops early (its caller raised) drops its files not yet read; the parsers
    it kept busy are stopped, and the next ingest reads everything."""
    from citeqa.engine import Citeqa

    docs = tmp_path / "docs"
    for i in range(6):
        note(docs, f"n{i}.txt", f"Survey {i}: the colony counted {200 + i} nests.")

    class Stop(Exception):
        pass

    def stop(progress) -> None:
        if progress.result is not None:
            raise Stop

    before = parsers()
    with Citeqa(make_settings(tmp_path / "data", parse_timeout=30, workers=2), embedder=embedder) as qa:
        with pytest.raises(Stop):
            qa.ingest([docs], on_progress=stop)
        report = qa.ingest([docs])
        assert report.count("added") + report.count("unchanged") == 6 and not report.failed
        assert {Path(d.path).name for d in qa.documents()} == {f"n{i}.txt" for i in range(6)}
        started = parsers() - before
        assert 1 <= len(started) <= 2
    assert gone(started)


def test_no_parser_outlives_a_program_that_never_closed_its_engine(tmp_path: Path) -> None:
    """A script that ingests and exits without closing leaves no parser process behind, and its
    exit does not wait on them."""
    script = tmp_path / "no_close.py"
    script.write_text(
        "import psutil, citeqa\n"
        "qa = citeqa.open()\n"
        f"report = qa.ingest([{str(note(tmp_path / 'docs', 'a.txt', 'The heron colony counted 212 nests.'))!r}])\n"
        "fs = [c for c in psutil.Process().children() if 'multiprocessing.forkserver' in ' '.join(c.cmdline())]\n"
        "print('PARSERS', report.count('added'), *[p.pid for f in fs for p in f.children()])\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env.update(CITEQA_DATA_DIR=str(tmp_path / "data"), CITEQA_WORKERS="1", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    (line,) = [ln.split()[1:] for ln in out.stdout.splitlines() if ln.startswith("PARSERS")]
    assert line[0] == "1" and len(line) == 2, "one file added, by one parser process kept after the ingest"
    assert gone({int(line[1])}), "a parser process outlived its program"


def test_a_pool_that_failed_starts_afresh_for_the_next_ingest(tmp_path: Path, embedder, monkeypatch) -> None:
    """A failure of the pool itself (here: no process could be started) fails that ingest's
    files, not every later ingest of a long-running server."""
    from citeqa.engine import Citeqa
    from citeqa.ingest import parsers as pool_module

    real = pool_module._Worker.__init__
    calls = []

    def start_once_failing(self, ctx) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise OSError(24, "Too many open files")
        real(self, ctx)

    monkeypatch.setattr(pool_module._Worker, "__init__", start_once_failing)
    docs = tmp_path / "docs"
    before = parsers()
    with Citeqa(make_settings(tmp_path / "data", parse_timeout=30), embedder=embedder) as qa:
        report = qa.ingest([note(docs, "a.txt", "The heron colony counted 212 nests in May.")])
        assert [f.error for f in report.failed] == ["too many open files"]
        assert qa.ingest([note(docs, "b.txt", "The ferry leaves at 06:40 on weekdays.")]).count("added") == 1
        started = parsers() - before
        assert len(started) == 1
    assert gone(started)

