"""Index changes made for a server run below its readers (issue 22): the write line's thread is
niced, and so are the encoder threads that embed its batches, while a reader's batch is embedded
on threads at the process's own priority (a nice value can be raised, never lowered back)."""

from __future__ import annotations

import sys
import threading

import pytest

from citeqa.core.priority import INGEST_NICE, lower_this_thread, thread_nice
from citeqa.core.writeline import WriteLine

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's")


def test_the_write_line_runs_changes_niced_and_leaves_the_caller_alone() -> None:
    before = thread_nice()
    line = WriteLine(max_waiting=1)
    try:
        line.take()
        assert line.submit(thread_nice).result(30) == max(before, INGEST_NICE)
    finally:
        line.close()
    assert thread_nice() == before


def test_a_thread_is_never_raised_back() -> None:
    seen: list[int] = []

    def run() -> None:
        lower_this_thread(15)
        lower_this_thread(5)  # asks for more priority than it has: ignored, not an error
        seen.append(thread_nice())

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert seen == [15]


class _Spy:
    """An onnxruntime session that notes the nice value of each thread it runs on."""

    def __init__(self, session: object, seen: list[int]) -> None:
        self._session = session
        self._seen = seen

    def run(self, *args: object) -> object:
        self._seen.append(thread_nice())
        return self._session.run(*args)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._session, name)


def test_an_ingest_batch_embeds_niced_and_a_readers_batch_does_not(embedder, monkeypatch) -> None:
    from pathlib import Path

    from citeqa.retrieval import onnx_int8

    if embedder.backend != "onnx-int8":
        pytest.skip("the int8 encoder's thread pool is what is tested")
    # Two sessions, so that batches go to the pool's threads whatever the machine's core count.
    path = onnx_int8.ensure_exported(Path(embedder.model), embedder._cache_dir)
    encoder = onnx_int8.OnnxEncoder(path, embedder.tokenizer, embedder.max_tokens, threads=2)
    seen: list[int] = []
    monkeypatch.setattr(encoder, "_sessions", [_Spy(s, seen) for s in encoder._sessions])
    texts = [f"passage {i} about herons and lake depth" for i in range(onnx_int8._SMALL + 8)]
    me = thread_nice()

    line = WriteLine(max_waiting=1)
    try:
        line.take()
        niced = line.submit(lambda: encoder.encode(texts)).result(300)
    finally:
        line.close()
    assert seen and set(seen) == {max(me, INGEST_NICE)}, seen

    seen.clear()
    plain = encoder.encode(texts)  # a reader's large batch, after the ingest's
    assert seen and set(seen) == {me}, seen
    assert (abs(niced - plain) < 1e-6).all()  # the same vectors whoever asks


def test_a_kept_parser_process_takes_the_priority_of_the_ingest_it_serves(tmp_path, embedder) -> None:
    """Parser processes are forked from the process server that the first ingest started, so
    they inherit that thread's nice value: one started by a reader's thread must still parse a
    server's upload (the write line's job) below the readers."""
    import os

    from citeqa.engine import Citeqa
    from tests.conftest import make_settings
    from tests.test_parser_pool import note, parsers

    before = parsers()
    docs = tmp_path / "docs"
    with Citeqa(make_settings(tmp_path / "data", parse_timeout=30), embedder=embedder) as qa:
        assert qa.ingest([note(docs, "a.txt", "The heron colony counted 212 nests in May.")]).count("added") == 1
        (pid,) = parsers() - before
        assert os.getpriority(os.PRIO_PROCESS, pid) == thread_nice()  # started by this (reader's) thread
        line = WriteLine(max_waiting=1)
        try:
            line.take()
            report = line.submit(lambda: qa.ingest([note(docs, "b.txt", "The ferry leaves at 06:40 on weekdays.")])).result(120)
        finally:
            line.close()
        assert report.count("added") == 1
        assert parsers() - before == {pid}, "the upload did not reuse the kept parser process"
        assert os.getpriority(os.PRIO_PROCESS, pid) >= INGEST_NICE
        assert "06:40" in qa.search("When does the ferry leave?", top_k=1)[0].text
