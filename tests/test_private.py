"""Private by default: servers on loopback unless protected, a login before anything on a network
address, and a data dir that is its owner's alone."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shlex
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.cli import cli
from citeqa.core.netaddr import is_loopback
from citeqa.engine import Citeqa
from tests.conftest import REPO, SAMPLE_DOCS, make_settings
from tests.test_browser import SERVER_START_S, _free_port, _healthy, _need_browser, chromium, shot_on_failure

PASSWORD = "correct horse battery staple"
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("[::1]", True), ("localhost", True),
        ("0.0.0.0", False), ("::", False), ("", False), (None, False), ("192.168.1.5", False),
        ("10.0.0.1", False), ("no-such-host.invalid", False),
    ],
)  # fmt: skip
def test_is_loopback(host: str | None, expected: bool) -> None:
    assert is_loopback(host) is expected


# -- the data dir ----------------------------------------------------------------------


def _modes(root: Path) -> dict[Path, int]:
    out = {root: stat.S_IMODE(root.stat().st_mode)}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            out[p] = stat.S_IMODE(p.lstat().st_mode)
    return out


def test_a_fresh_data_dir_is_the_owners_alone(tmp_path: Path, embedder) -> None:
    data = tmp_path / "data"
    old = os.umask(0o022)  # a usual default: citeqa must not rely on its caller's umask
    try:
        with Citeqa(make_settings(data), embedder=embedder) as qa:
            assert not qa.ingest([SAMPLE_DOCS]).failed
            [uploaded] = qa.ingest_uploads([("field notes.txt", b"The secret landing site is Cove 7.\n")])
            assert uploaded.result.status == "added"
            assert qa.privacy_warning is None
    finally:
        os.umask(old)
    modes = _modes(data)
    assert data / "uploads" / "field notes.txt" in modes and any(p.suffix == ".parquet" for p in modes)
    wrong = {str(p): oct(m) for p, m in modes.items() if m != (0o700 if p.is_dir() else 0o600)}
    assert not wrong


def test_a_data_dir_others_can_read_is_warned_about_once(tmp_path: Path, embedder, caplog, monkeypatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    with caplog.at_level(logging.WARNING, logger="citeqa"):
        for _ in range(2):
            with Citeqa(make_settings(data), embedder=embedder) as qa:
                assert qa.privacy_warning and f"chmod -R go-rwx {data}" in qa.privacy_warning
    assert len([r for r in caplog.records if "not private" in r.getMessage()]) == 1

    # The command line says so (another process: the warning is once per process).
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    done = subprocess.run([str(BIN / "citeqa"), "--data-dir", str(data), "docs"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=300)  # fmt: skip
    # nothing is indexed there: one line says so (issue 24), after the warning
    assert done.returncode == 1 and "No documents are indexed" in done.stderr, done.stderr
    warnings = [line for line in done.stderr.splitlines() if "not private" in line]
    assert len(warnings) == 1 and "drwxr-xr-x" in warnings[0] and "chmod -R go-rwx" in warnings[0]

    # And so does the web app.
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CITEQA_DATA_DIR", str(data))
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(REPO / "app" / "main.py"), default_timeout=240)
        at.run()
        assert not at.exception
        assert any("not private" in w.value for w in at.warning)
    finally:
        st.cache_resource.clear()


# -- servers refuse a network address without protection ----------------------------------


def test_serve_db_refuses_every_interface(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CITEQA_DATA_DIR", str(tmp_path / "data"))
    port = _free_port()
    done = CliRunner().invoke(cli, ["serve-db", "--host", "0.0.0.0", "--port", str(port)])
    assert done.exit_code == 1
    assert "loopback only" in done.output and "CITEQA_MILVUS_TOKEN" in done.output
    assert not (tmp_path / "data").exists()  # refused before opening anything


def test_the_app_refuses_a_network_address_without_a_login(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env["CITEQA_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run([str(BIN / "citeqa"), "app", "--host", "0.0.0.0", "--port", str(_free_port())],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)  # fmt: skip
    assert done.returncode == 1
    assert "without a login" in done.stderr and "CITEQA_APP_PASSWORD" in done.stderr
    assert done.stderr.count("\n") == 1  # one line


# -- the web app as a new user starts it (slow: Streamlit and Chromium) ----------------------


@contextlib.contextmanager
def _serving(cmd: list[str], port: int, tmp_path: Path, **env: str) -> Iterator[subprocess.Popen]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    full_env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", CITEQA_DATA_DIR=str(tmp_path / "data"), **env)
    log = tmp_path / f"app-{port}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, env=full_env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not _healthy(f"http://127.0.0.1:{port}"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _listening(pid: int, port: int) -> set[str]:
    """The addresses process `pid` listens on at `port`, from the kernel's socket table."""
    import psutil

    return {c.laddr.ip for c in psutil.Process(pid).net_connections("inet") if c.status == psutil.CONN_LISTEN and c.laddr.port == port}


def _make_run_app_command(port: int) -> list[str]:
    """The command `make run` serves the app with, as make itself prints it (-n: nothing runs)."""
    out = subprocess.run(["make", "-s", "-n", "run", f"PORT={port}", f"BIN={BIN}"], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    [line] = [ln for ln in out.splitlines() if " app " in f"{ln} " and "citeqa" in ln]
    return shlex.split(line)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["make run", "streamlit run"])
def test_the_app_listens_on_loopback_only(how: str, tmp_path: Path) -> None:
    port = _free_port()
    if how == "make run":
        cmd = _make_run_app_command(port)
    else:  # as the README's shell users start it: the project's .streamlit/config.toml decides
        cmd = [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port)]
    with _serving(cmd, port, tmp_path) as proc:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            assert r.status == 200
        assert _listening(proc.pid, port) == {"127.0.0.1"}


@pytest.mark.slow
def test_on_every_interface_the_app_shows_only_a_login(tmp_path: Path) -> None:
    _need_browser()
    port = _free_port()
    cmd = [str(BIN / "citeqa"), "app", "--host", "0.0.0.0", "--port", str(port)]
    with _serving(cmd, port, tmp_path, CITEQA_APP_PASSWORD=PASSWORD) as proc, chromium() as browser:
        assert _listening(proc.pid, port) == {"0.0.0.0"}  # really exposed; the browser still uses loopback
        page = browser.new_page()
        page.set_default_timeout(SERVER_START_S * 1000)
        page.goto(f"http://127.0.0.1:{port}")
        password = page.get_by_label("Password", exact=True)
        password.wait_for()

        def only_the_login() -> None:
            assert page.get_by_role("tab").count() == 0 and page.get_by_test_id("stChatInput").count() == 0
            assert page.get_by_test_id("stSidebar").count() == 0 and page.get_by_text("Library").count() == 0

        only_the_login()
        password.fill("wrong password")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Wrong password.").wait_for()
        only_the_login()
        assert PASSWORD not in page.url and "wrong" not in page.url

        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        with shot_on_failure(page, tmp_path / "login.png"):
            page.get_by_role("tab", name=re.compile("Library")).wait_for()
        page.get_by_test_id("stChatInput").wait_for()
        page.get_by_label("Password", exact=True).wait_for(state="detached", timeout=30_000)
        assert PASSWORD not in page.url
        log = (tmp_path / f"app-{port}.log").read_text(errors="replace")
        assert PASSWORD not in log and "wrong password" not in log

        # Another browser session has not logged in.
        other = browser.new_context().new_page()
        other.goto(f"http://127.0.0.1:{port}")
        other.get_by_label("Password", exact=True).wait_for()
        assert other.get_by_role("tab").count() == 0


@pytest.mark.slow
def test_streamlit_told_to_listen_everywhere_without_a_login_serves_nothing(tmp_path: Path) -> None:
    _need_browser()
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port), "--server.address", "0.0.0.0"]
    with _serving(cmd, port, tmp_path) as proc, chromium() as browser:
        assert _listening(proc.pid, port) == {"0.0.0.0"}
        page = browser.new_page()
        page.set_default_timeout(SERVER_START_S * 1000)
        page.goto(f"http://127.0.0.1:{port}")
        page.get_by_text("refuses to serve on this address").wait_for()
        assert page.get_by_text("CITEQA_APP_PASSWORD").count() >= 1
        assert page.get_by_role("tab").count() == 0 and page.get_by_label("Password", exact=True).count() == 0
        assert not (tmp_path / "data").exists()  # the data dir was never opened


def test_with_streamlits_own_login_configured_only_its_button_shows(tmp_path: Path, monkeypatch) -> None:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CITEQA_DATA_DIR", str(tmp_path / "data"))
    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(REPO / "app" / "main.py"), default_timeout=240)
        at.secrets["auth"] = {
            "redirect_uri": "http://localhost:8501/oauth2callback",
            "cookie_secret": "a long random string",
            "client_id": "citeqa",
            "client_secret": "s3cret",
            "server_metadata_url": "https://login.example.org/.well-known/openid-configuration",
        }
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert [b.label for b in at.button] == ["Log in"]
        assert not at.tabs and not at.chat_input and not at.sidebar.children
        assert not (tmp_path / "data").exists()  # nothing opened before the login
    finally:
        st.cache_resource.clear()
