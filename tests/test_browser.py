"""The web app in a real browser: `streamlit run` as a subprocess, driven by Playwright with Debian's Chromium.

No browser is downloaded (`playwright install` needs the network): the tests use
/usr/bin/chromium and skip, saying why, where it or Playwright is missing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLE_DOCS

CHROMIUM = "/usr/bin/chromium"
APP = REPO / "app" / "main.py"
SHOT = Path("/tmp/citeqa-shot.png")
SERVER_START_S = 120
ANSWER_S = 240

pytestmark = pytest.mark.slow


def _need_browser() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium (scripts/install_browser.sh)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright for Python is not installed (pip install -e '.[dev]')")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def streamlit_server(data_dir: Path, workdir: Path, **env: str) -> Iterator[str]:
    """`streamlit run app/main.py` on a free port with its own data dir; stopped (its process group) on exit."""
    port = _free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    full_env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        CITEQA_DATA_DIR=str(data_dir),
        CITEQA_WORKERS="1",
        CITEQA_N_CTX="2048",
        CITEQA_MAX_TOKENS="64",
        CITEQA_TEMPERATURE="0",
    )
    full_env.update(env)
    log_path = workdir / "streamlit.log"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(APP),
        "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
    ]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"streamlit did not start:\n{log_path.read_text(errors='replace')[-3000:]}"
                )
            time.sleep(0.5)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def chromium() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def shot_on_failure(page, path: Path) -> Iterator[None]:
    """A full-page screenshot where a step fails, to see what the browser saw."""
    try:
        yield
    except Exception:
        with contextlib.suppress(Exception):
            page.screenshot(path=str(path), full_page=True)
            shutil.copy(path, Path("/tmp") / path.name)
        raise


def open_app(browser, url: str):
    """A new page (of a browser, or of a browser context) with the app loaded."""
    page = browser.new_page()
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.set_default_timeout(ANSWER_S * 1000)
    page.goto(url)
    page.get_by_role("tab", name=re.compile("Library")).wait_for(timeout=SERVER_START_S * 1000)
    return page


def ask(page, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(question)
    box.press("Enter")


def wait_answered(page, n: int = 1) -> None:
    """Until the n-th answer is final (its timings caption only comes with the final render)."""
    page.get_by_test_id("stChatMessage").filter(has_text="total").nth(n - 1).wait_for()


def settled(page) -> None:
    """Until the script run is over (what it replaced is cleared then), e.g. before a screenshot."""
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def _upload_ask_and_view(page, tmp_path: Path, pdf: Path) -> None:
    # Library: upload, live progress, per-file result.
    page.get_by_role("tab", name=re.compile("Library")).click()
    page.locator("input[type=file]").set_input_files(str(pdf))
    page.get_by_role("button", name=re.compile(r"Add 1 file\(s\) to the library")).click()
    page.get_by_text("1 file(s) in the library").wait_for()
    assert (tmp_path / "data" / "uploads" / pdf.name).is_file()

    # Chat: the evidence answer first, then the model's text streams in under it (the ▌ cursor shows
    # while it is generated), then the checked answer and its sources.
    page.get_by_role("tab", name=re.compile("Chat")).click()
    ask(page, "What was the maximum depth of Aurora Lake in the 2023 survey?")
    page.get_by_text("Quoted from your documents").first.wait_for()
    page.get_by_text("▌").first.wait_for()
    wait_answered(page)
    answer = page.get_by_test_id("stChatMessage").nth(1)
    text = answer.inner_text()
    assert "▌" not in text
    assert "maximum depth as 47 metres" in text and "aurora_lake_field_station_2023.pdf, p. 2" in text
    assert re.search(r"evidence \d+\.\d\d s .*first token \d+\.\d\d s", text)

    # A source: "[n] file, p. X · score" (cited) or under "(Other) retrieved passages" (the demo model
    # often answers without a marker).
    cited = answer.get_by_test_id("stExpander").filter(
        has_text=re.compile(r"\[\d+\] aurora_lake_field_station_2023\.pdf, p\. \d")
    )
    source = (
        cited.first
        if cited.count()
        else answer.get_by_test_id("stExpander").filter(has_text=re.compile("retrieved passages", re.I)).first
    )
    source.locator("summary").click()
    assert re.search(r"score \d", source.inner_text())
    # The expander may still be opening when its toggle is first clickable: click until it is on.
    switch = source.get_by_role("switch", name="Show page")
    for _ in range(5):
        source.get_by_text("Show page").first.click()
        page.wait_for_timeout(1000)
        if switch.is_checked():
            break
    assert switch.is_checked()
    image = source.get_by_test_id("stImage").locator("img").first
    image.wait_for(timeout=60_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 500", arg=image.element_handle())
    image.scroll_into_view_if_needed()
    assert source.get_by_role("button", name=re.compile("Download file")).count()

    # The app scrolls inside its own container: a tall window, from the question down to the page image.
    page.set_viewport_size({"width": 1440, "height": 2400})
    page.get_by_test_id("stChatMessage").first.evaluate("el => el.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    shot = tmp_path / "citeqa-chat.png"
    page.screenshot(path=str(shot), full_page=True)
    shutil.copy(shot, SHOT)
    assert shot.stat().st_size > 10_000


def test_upload_ask_and_view_the_cited_page(tmp_path: Path):
    _need_browser()
    pdf = SAMPLE_DOCS / "aurora_lake_field_station_2023.pdf"
    # Generation on, so that the model's text is seen streaming under the evidence.
    with streamlit_server(tmp_path / "data", tmp_path, CITEQA_GENERATE="always") as url, chromium() as browser:
        page = open_app(browser, url)
        with shot_on_failure(page, tmp_path / "citeqa-failure.png"):
            _upload_ask_and_view(page, tmp_path, pdf)


EXAMPLE_SHOT = Path("/tmp/citeqa-examples.png")
ANSWER_SHOT = Path("/tmp/citeqa-example-answer.png")
AURORA = "What was the maximum depth of Aurora Lake in the 2023 survey?"


def _ingest_in_subprocess(data_dir: Path, workdir: Path, *paths: Path) -> None:
    # Another process, as the CLI would be: milvus-lite keeps a data dir locked by the process that
    # opened it, so the server could not open one this test process had used.
    code = "from citeqa.cli import main; main()"
    args = ["--data-dir", str(data_dir), "ingest", *map(str, paths)]
    subprocess.run([sys.executable, "-c", code, "-q", *args], cwd=workdir, check=True, timeout=300)


def _click_an_example(page) -> None:
    # The empty chat offers questions drawn from the documents; a click asks one.
    page.get_by_text("Try asking:").wait_for()
    examples = page.get_by_role("button", name=re.compile("^What do the documents say about"))
    assert 2 <= examples.count() <= 4
    page.screenshot(path=str(EXAMPLE_SHOT), full_page=True)
    question = examples.first.inner_text().strip().splitlines()[-1]  # after its icon
    examples.first.click()
    wait_answered(page)
    messages = page.get_by_test_id("stChatMessage")
    assert question in messages.nth(0).inner_text()
    answer = messages.nth(1)
    assert "Quoted from your documents" in answer.inner_text().splitlines()[2]  # first, after the avatar
    badge = answer.locator("span.stMarkdownBadge").first
    assert badge.inner_text().strip() == "1"  # the quote's [n]
    settled(page)
    assert not page.get_by_text("Try asking:").count()
    page.screenshot(path=str(ANSWER_SHOT), full_page=True)


def _stop_a_running_answer(page) -> None:
    ask(page, AURORA)
    stop = page.get_by_test_id("stChatMessage").get_by_role("button", name="Stop")  # not Streamlit's own
    stop.wait_for()
    page.get_by_text("▌").first.wait_for()  # the model is writing
    stop.click()
    answer = page.get_by_test_id("stChatMessage").filter(has_text="Stopped: the answer is what was shown").first
    answer.wait_for()
    settled(page)  # the stopped run's live view, left on screen until the new run ends, is gone
    text = answer.inner_text()
    assert "maximum depth as 47 metres" in text  # the evidence stays as the answer
    assert "▌" not in text and not stop.count()


def test_examples_stop_and_a_browser_that_leaves(tmp_path: Path):
    _need_browser()
    data = tmp_path / "data"
    _ingest_in_subprocess(data, tmp_path, SAMPLE_DOCS)
    with (
        streamlit_server(data, tmp_path, CITEQA_GENERATE="always", CITEQA_MAX_TOKENS="400") as url,
        chromium() as browser,
    ):
        page = open_app(browser, url)
        with shot_on_failure(page, tmp_path / "citeqa-examples-failure.png"):
            _click_an_example(page)
            _stop_a_running_answer(page)

            # A browser that goes away while its answer is generated frees the model: this session's
            # next question is answered (a turn kept by the gone session would leave it waiting).
            other = browser.new_context()
            gone = open_app(other, url)
            ask(gone, "How long does the Kestrel K2 warranty last?")
            gone.get_by_text("▌").first.wait_for()
            other.close()
            ask(page, "When is the Project Heron launch date?")
            wait_answered(page, 3)
            assert "17 June 2024" in page.get_by_test_id("stChatMessage").nth(5).inner_text()
