"""The question's path is answer/'s (citeqa.answer.asker.Asker): the engine hands a question over
once and gets the stream back once. Counted with a profiler over a real ask on a real index."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from citeqa.core.errors import NoDocuments
from tests.conftest import SAMPLE_DOCS


def _walk(engine, question: str) -> tuple[set[str], int]:
    """The repository files a question's calls run in, and how many calls made from engine.py
    into another file returned to it."""
    root = str(Path(__file__).resolve().parents[1]) + "/"
    files: set[str] = set()
    returns = 0

    def profile(frame, event, _arg) -> None:
        nonlocal returns
        name = frame.f_code.co_filename
        if not name.startswith(root) or "/.venv/" in name or "/tests/" in name:
            return
        if event == "call":
            files.add(name[len(root) :])
        elif event == "return" and frame.f_back is not None and not name.endswith("citeqa/engine.py"):
            returns += frame.f_back.f_code.co_filename.endswith("citeqa/engine.py")

    sys.setprofile(profile)
    try:
        answer = engine.ask_stream(question, generate="never").result()
    finally:
        sys.setprofile(None)
    assert not answer.abstained and "3 years" in answer.text  # the walk was of a real answer
    return files, returns


def test_a_question_returns_to_the_engine_once(engine) -> None:
    engine.ingest([SAMPLE_DOCS])
    question = "How long is the Kestrel K2 warranty?"
    engine.ask(question, generate="never")  # parts built: what is walked is the question alone
    files, returns = _walk(engine, question)
    assert returns == 1, files
    assert "citeqa/documents_admin.py" not in files  # the empty-index check is the asker's


def test_an_empty_index_is_refused_by_the_question_path(engine) -> None:
    engine.ingest([SAMPLE_DOCS])
    for doc in engine.documents():
        engine.remove([doc.path])
    with pytest.raises(NoDocuments, match="citeqa ingest"):
        engine.ask("How long is the Kestrel K2 warranty?", generate="never")
