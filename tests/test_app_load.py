"""Four browser sessions ask at once against one server: the shared model answers them one at a
time, the waiting sessions say so, and every session gets its own answer."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_DOCS
from tests.test_browser import ANSWER_S, _need_browser, ask, chromium, open_app, streamlit_server

pytestmark = pytest.mark.slow

QUESTIONS = [
    "How long does the Kestrel K2 warranty last?",
    "What was the maximum depth of Aurora Lake?",
    "When is the Project Heron launch date?",
    "How often should the Kestrel K2 burr chamber be brushed?",
]


def _ingest_in_subprocess(data_dir: Path, workdir: Path) -> None:
    # Another process, as the CLI would be: milvus-lite keeps a data dir locked by the
    # process that opened it, so the server could not open one this test process had used.
    code = "from citeqa.cli import main; main()"
    env_args = ["--data-dir", str(data_dir), "ingest", str(SAMPLE_DOCS)]
    subprocess.run([sys.executable, "-c", code, "-q", *env_args], cwd=workdir, check=True, timeout=300)


def test_four_sessions_ask_at_once(tmp_path: Path):
    _need_browser()
    data = tmp_path / "data"
    _ingest_in_subprocess(data, tmp_path)
    # Short answers from few passages: the point is concurrency, and the four answers queue on 2 cores.
    with (
        streamlit_server(data, tmp_path, CITEQA_TOP_K="2", CITEQA_MAX_TOKENS="32") as url,
        chromium() as browser,
    ):
        pages = [open_app(browser.new_context(), url) for _ in QUESTIONS]
        for page, q in zip(pages, QUESTIONS, strict=True):
            ask(page, q)

        waited = False
        done = [False] * len(pages)
        deadline = time.monotonic() + ANSWER_S * len(pages)
        while not all(done):
            assert time.monotonic() < deadline, f"answers still missing: {done}"
            for i, page in enumerate(pages):
                if done[i]:
                    continue
                waited = waited or page.get_by_text("Waiting for the model").count() > 0
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
        assert waited, "no session showed 'Waiting for the model…' although four asked at once"
