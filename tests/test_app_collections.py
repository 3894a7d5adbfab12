"""The web chat's collection picker in a real browser (Playwright, /usr/bin/chromium): each
collection answers from its own documents, and its chat comes back when switched back to."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import make_settings
from tests.test_browser import _need_browser, chromium, open_app, shot_on_failure, streamlit_server

pytestmark = pytest.mark.slow
QUESTION = "When does the Falcon contract end?"


def _choose(page, name: str) -> None:
    page.get_by_test_id("stSelectbox").filter(has_text="Collection").click()
    page.get_by_role("option", name=name, exact=True).click()
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")


def _no_messages(page) -> None:
    """Until the chat shows no message (the run after a switch replaces the other chat's)."""
    for _ in range(100):
        if page.get_by_test_id("stChatMessage").count() == 0:
            return
        page.wait_for_timeout(100)
    raise AssertionError("the other collection's chat is still shown")


def _answer(page, n: int) -> str:
    page.get_by_test_id("stChatInputTextArea").fill(QUESTION)
    page.get_by_test_id("stChatInputTextArea").press("Enter")
    msg = page.get_by_test_id("stChatMessage").filter(has_text="total").nth(n - 1)
    msg.wait_for()
    return msg.inner_text()


def test_switching_collection_in_the_browser(tmp_path: Path, embedder):
    _need_browser()
    from citeqa.engine import Citeqa

    for name, fact in (("client_a", "12 March 2024"), ("client_b", "30 June 2031")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "notes.md").write_text(f"The Falcon contract ends on {fact}. It was signed in Oslo.\n")
    with Citeqa(make_settings(tmp_path / "data"), embedder=embedder) as qa:
        qa.collection("client_a").ingest([tmp_path / "client_a"])
        qa.collection("client_b").ingest([tmp_path / "client_b"])

    with streamlit_server(tmp_path / "data", tmp_path, CITEQA_GENERATE="never") as url, chromium() as browser:
        page = open_app(browser, url)
        with shot_on_failure(page, tmp_path / "collections.png"):
            _choose(page, "client_b")
            text = _answer(page, 1)
            assert "30 June 2031" in text and "12 March 2024" not in text
            _choose(page, "client_a")
            _no_messages(page)  # client_a's own (empty) chat
            text = _answer(page, 1)
            assert "12 March 2024" in text and "30 June 2031" not in text
            _choose(page, "client_b")  # its chat is still there
            page.get_by_text("30 June 2031").first.wait_for()

            page.get_by_role("tab", name=re.compile("Library")).click()
            page.get_by_text(re.compile(r"client_b: last sync \d{4}-\d\d-\d\d \d\d:\d\d, 0 failed")).wait_for()
            page.get_by_label("New collection").fill("client_c")
            page.get_by_role("button", name=re.compile("Create")).click()
            page.get_by_text("Created collection client_c.").wait_for()

    chats = sorted((tmp_path / "data" / "chats" / "local").glob("*/*.json"))
    assert [p.parent.name for p in chats] == ["client_a", "client_b"]
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in chats)

    # A restart keeps the chats: client_b's is listed in the sidebar and opens with its answer.
    with streamlit_server(tmp_path / "data", tmp_path, CITEQA_GENERATE="never") as url, chromium() as browser:
        page = open_app(browser, url)
        with shot_on_failure(page, tmp_path / "saved.png"):
            _choose(page, "client_b")
            _no_messages(page)
            page.get_by_test_id("stSidebar").get_by_role("button", name=re.compile(QUESTION)).click()
            page.get_by_test_id("stChatMessage").filter(has_text="30 June 2031").first.wait_for()
    with Citeqa(make_settings(tmp_path / "data"), embedder=embedder) as qa:
        assert "client_c" in qa.collection_names()


def test_the_app_watches_the_remembered_folder(tmp_path: Path, embedder):
    """`citeqa watch` remembered a folder; the app, holding the data dir, runs the watcher: a file
    dropped there is answered from within seconds."""
    _need_browser()
    import time

    from citeqa.engine import Citeqa

    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "first.md").write_text("The Kestrel grinder has a warranty of three years.\n")
    with Citeqa(make_settings(tmp_path / "data"), embedder=embedder) as qa:
        qa.collection("inbox").ingest([folder])
    (tmp_path / "data" / "inbox.watch.txt").write_text(f"{folder}\n")  # as `citeqa watch` leaves it

    with streamlit_server(tmp_path / "data", tmp_path, CITEQA_GENERATE="never") as url, chromium() as browser:
        page = open_app(browser, url)
        with shot_on_failure(page, tmp_path / "watch.png"):
            _choose(page, "inbox")
            page.get_by_role("tab", name=re.compile("Library")).click()
            page.get_by_role("button", name="Watch inbox").click()
            page.get_by_text("Watching inbox").wait_for()
            time.sleep(2)  # the first sync (nothing changed)
            (folder / "heron.md").write_text("The Heron pump delivers 40 litres per minute.\n")
            time.sleep(5)
            page.get_by_role("tab", name=re.compile("Chat")).click()
            page.get_by_test_id("stChatInputTextArea").fill("How many litres per minute does the Heron pump deliver?")
            page.get_by_test_id("stChatInputTextArea").press("Enter")
            msg = page.get_by_test_id("stChatMessage").filter(has_text="total").first
            msg.wait_for()
            assert "40 litres per minute" in msg.inner_text()


def test_citeqa_watch_beside_the_app(tmp_path: Path, embedder):
    """The web app holds the data dir (it serves the index); `citeqa watch` started beside it uses
    that index: a file dropped into the watched folder is answered in the browser within seconds,
    with no restart and nothing else started."""
    _need_browser()
    import json
    import signal
    import subprocess
    import time

    from citeqa.engine import Citeqa
    from citeqa.retrieval import shared
    from tests.conftest import REPO
    from tests.serving import citeqa_cmd, env

    folder, data, log = tmp_path / "inbox", tmp_path / "data", tmp_path / "watch.log"
    folder.mkdir()
    (folder / "first.md").write_text("The Kestrel grinder has a warranty of three years.\n")
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        qa.collection("inbox").ingest([folder])

    with streamlit_server(data, tmp_path, CITEQA_GENERATE="never") as url, chromium() as browser:
        page = open_app(browser, url)
        with shot_on_failure(page, tmp_path / "beside.png"):
            _choose(page, "inbox")
            app_pid = json.loads((data / shared.NAME).read_text())["pid"]  # the app serves the index
            with log.open("ab") as out:
                watcher = subprocess.Popen(citeqa_cmd("watch", str(folder), "--collection", "inbox"), cwd=REPO,
                                           env=env(data), stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
            try:
                deadline = time.monotonic() + 120
                while "synced inbox:" not in log.read_text():
                    assert time.monotonic() < deadline and watcher.poll() is None, log.read_text()
                    time.sleep(0.1)
                (folder / "heron.md").write_text("The Heron pump delivers 40 litres per minute.\n")
                time.sleep(5)
                page.get_by_test_id("stChatInputTextArea").fill("How many litres per minute does the Heron pump deliver?")
                page.get_by_test_id("stChatInputTextArea").press("Enter")
                msg = page.get_by_test_id("stChatMessage").filter(has_text="total").first
                msg.wait_for()
                assert "40 litres per minute" in msg.inner_text()
                assert "synced inbox: 1 added" in log.read_text()
                assert json.loads((data / shared.NAME).read_text())["pid"] == app_pid
            finally:
                watcher.send_signal(signal.SIGINT)
                watcher.wait(30)
