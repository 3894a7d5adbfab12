"""The web app's library changes wait in a bounded line (#22): with the line full, an upload is
refused at once with a message naming CITEQA_MAX_INGEST_WAITING, while a session that only reads
is answered as usual; once the line is free, the same files are added. A real browser (Playwright,
Chromium) against `streamlit run`."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_DOCS
from tests.test_browser import (
    _ingest_in_subprocess,
    _need_browser,
    ask,
    chromium,
    open_app,
    shot_on_failure,
    streamlit_server,
    wait_answered,
)

pytestmark = pytest.mark.slow

ADD_ONE = re.compile(r"Add 1 file\(s\) to the library")
ADDED = "1 file(s) in the library"


def _long_text(path: Path, lines: int) -> Path:
    """A text file whose ingest takes a while (thousands of distinct chunks to embed)."""
    words = ("survey", "station", "buoy", "sediment", "inlet", "ridge", "harbour", "channel")
    with path.open("w") as fh:
        for i in range(lines):
            w = words[i % len(words)]
            fh.write(f"Log entry {i}: the {w} team recorded reading {i * 37 % 1009} at marker {i % 211}.\n")
    return path


def _upload(page, path: Path) -> None:
    page.get_by_role("tab", name=re.compile("Library")).click()
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name=ADD_ONE).click()


def test_an_upload_is_refused_while_the_line_is_full_and_readers_are_answered(tmp_path: Path) -> None:
    _need_browser()
    data = tmp_path / "data"
    _ingest_in_subprocess(data, tmp_path, SAMPLE_DOCS)
    # about 1.2 MB, some 30 s of ingest on 2 cores: the line stays full while the second upload is
    # refused and a reader is answered (a few seconds); 3 MB took 80 s for the same checks
    big = _long_text(tmp_path / "station_log.txt", 16_000)
    small = tmp_path / "boathouse.md"
    small.write_text("# Boathouse\n\nThe boathouse key hangs behind the blue door.\n")
    # No change may wait behind the running one: the second upload finds the line full.
    with (
        streamlit_server(data, tmp_path, CITEQA_MAX_INGEST_WAITING="0", CITEQA_GENERATE="never") as url,
        chromium() as browser,
    ):
        writer, second, reader = (open_app(browser.new_context(), url) for _ in range(3))
        with shot_on_failure(second, tmp_path / "citeqa-writes-failure.png"):
            _upload(writer, big)
            writer.get_by_text(re.compile(r"0 of 1 file\(s\)|Starting")).first.wait_for()

            _upload(second, small)
            refused = second.get_by_test_id("stAlertContentError").filter(
                has_text="CITEQA_MAX_INGEST_WAITING"
            )
            refused.wait_for(timeout=30_000)
            assert "Adding the files not done" in refused.inner_text()
            assert not writer.get_by_text(ADDED).count(), "the long ingest ended too soon to fill the line"

            # A reader is answered while the long ingest runs.
            started = time.monotonic()
            ask(reader, "What was the maximum depth of Aurora Lake in the 2023 survey?")
            wait_answered(reader)
            assert "47 metres" in reader.get_by_test_id("stChatMessage").nth(1).inner_text()
            assert not writer.get_by_text(ADDED).count(), "the reader was answered only after the ingest"
            assert time.monotonic() - started < 60

            # Once the line is free, the refused files (still in the uploader) are added.
            writer.get_by_text(ADDED).wait_for()
            second.get_by_role("button", name=ADD_ONE).click()
            second.get_by_text(ADDED).wait_for()
    assert (data / "uploads" / small.name).is_file() and (data / "uploads" / big.name).is_file()
