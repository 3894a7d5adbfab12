"""Four browser sessions ask at once against one server: the shared local model answers them one
at a time, first come first served, the waiting sessions show their place in line, and every
session gets its own answer; behind llama.cpp's server with four slots, nobody waits."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_DOCS
from tests.test_browser import (
    ANSWER_S,
    _ingest_in_subprocess,
    _need_browser,
    ask,
    chromium,
    open_app,
    streamlit_server,
)

pytestmark = pytest.mark.slow

QUESTIONS = [
    "How long does the Kestrel K2 warranty last?",
    "What was the maximum depth of Aurora Lake?",
    "When is the Project Heron launch date?",
    "How often should the Kestrel K2 burr chamber be brushed?",
]


def test_four_sessions_ask_at_once(tmp_path: Path):
    _need_browser()
    data = tmp_path / "data"
    _ingest_in_subprocess(data, tmp_path, SAMPLE_DOCS)
    # Short answers from few passages: the point is concurrency, and the four answers queue on 2 cores.
    # Generation on: the demo model otherwise answers with the evidence alone, and nobody waits.
    with (
        streamlit_server(data, tmp_path, CITEQA_TOP_K="2", CITEQA_MAX_TOKENS="32", CITEQA_GENERATE="always") as url,
        chromium() as browser,
    ):
        pages = [open_app(browser.new_context(), url) for _ in QUESTIONS]
        for page, q in zip(pages, QUESTIONS, strict=True):
            ask(page, q)

        places: list[list[int]] = [[] for _ in pages]
        done = [False] * len(pages)
        deadline = time.monotonic() + ANSWER_S * len(pages)
        while not all(done):
            assert time.monotonic() < deadline, f"answers still missing: {done}"
            for i, page in enumerate(pages):
                if done[i]:
                    continue
                if (place := _place(page)) is not None and (not places[i] or places[i][-1] != place):
                    places[i].append(place)
                final = page.get_by_test_id("stChatMessage").filter(has_text="total")
                done[i] = final.count() > 0
            time.sleep(0.25)

        for page, q in zip(pages, QUESTIONS, strict=True):
            msgs = page.get_by_test_id("stChatMessage")
            assert msgs.count() == 2  # each session sees only its own exchange
            assert q in msgs.nth(0).inner_text()
            answer = msgs.nth(1).inner_text()
            assert "Sources" in answer or "etrieved passages" in answer
            assert (
                not page.get_by_test_id("stException").count()
                and not page.get_by_test_id("stAlertContentError").count()
            )
        assert any(places), "no session showed its place in line although four asked at once"
        # First come, first served: a session's place never gets worse while it waits.
        assert all(p == sorted(p, reverse=True) for p in places), places


def test_four_sessions_at_once_through_llama_server_are_not_queued(tmp_path: Path):
    """With the model behind llama.cpp's server (four slots, CITEQA_LLM_CONCURRENCY=4), four
    sessions generate at the same time: none is told to wait, each gets its own generated answer."""
    from tests.llm_server import llama_server, native_server_missing

    _need_browser()
    if why := native_server_missing():
        pytest.skip(why)
    data = tmp_path / "data"
    _ingest_in_subprocess(data, tmp_path, SAMPLE_DOCS)
    with (
        llama_server(tmp_path, parallel=4) as model,
        streamlit_server(
            data, tmp_path, CITEQA_TOP_K="2", CITEQA_MAX_TOKENS="32", CITEQA_GENERATE="always",
            CITEQA_LLM_URL=model.url, CITEQA_LLM_CONCURRENCY="4",
        ) as url,
        chromium() as browser,
    ):  # fmt: skip
        pages = [open_app(browser.new_context(), url) for _ in QUESTIONS]
        for page, q in zip(pages, QUESTIONS, strict=True):
            ask(page, q)
        waited = [False] * len(pages)
        done = [False] * len(pages)
        deadline = time.monotonic() + ANSWER_S * len(pages)
        while not all(done):
            assert time.monotonic() < deadline, f"answers still missing: {done}"
            for i, page in enumerate(pages):
                waited[i] = waited[i] or _place(page) is not None
                done[i] = done[i] or page.get_by_test_id("stChatMessage").filter(has_text="total").count() > 0
            time.sleep(0.25)
        for page, q in zip(pages, QUESTIONS, strict=True):
            msgs = page.get_by_test_id("stChatMessage")
            assert msgs.count() == 2 and q in msgs.nth(0).inner_text()
            assert "Sources" in msgs.nth(1).inner_text()
            assert not page.get_by_test_id("stException").count()
            assert not page.get_by_test_id("stAlertContentError").count()
        assert not any(waited), "a session waited in line although the server has a slot for each"


def _place(page) -> int | None:
    """The place in line the page shows now ("you are 2nd in line"; next in line is 1), if any."""
    waiting = page.get_by_text(re.compile("Waiting for the model: you are"))
    if not waiting.count():
        return None
    try:
        m = re.search(r"you are (next|\d+)\w* in line", waiting.first.inner_text(timeout=1000))
    except Exception:  # gone between the count and the read
        return None
    return None if m is None else 1 if m.group(1) == "next" else int(m.group(1))
