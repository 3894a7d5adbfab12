"""A new user's first minutes: one index per user wherever citeqa is started, an empty index that
says so (never "not in your documents"), and `citeqa info` telling which index is used."""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.cli import cli
from citeqa.core import places
from citeqa.core.settings import Settings
from tests.conftest import REPO, SAMPLE_DOCS

KESTREL = "How long is the warranty on the Kestrel K2 grinder?"


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No CITEQA_DATA_DIR: the per-user default, with the user's folders under tmp_path, and the
    working directory somewhere else again."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.delenv("CITEQA_DATA_DIR", raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("CITEQA_WORKERS", "1")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return home


def cli_run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_the_default_data_dir_is_the_users_own_wherever_citeqa_starts(user_home: Path, tmp_path: Path) -> None:
    here = Settings(_env_file=None).data_dir
    assert here == places.user_data_dir() and here.is_absolute()
    assert here.is_relative_to(user_home)
    os.chdir(tmp_path)
    assert Settings(_env_file=None).data_dir == here  # another directory, the same index
    assert Settings(_env_file=None, data_dir=tmp_path / "x").data_dir == tmp_path / "x"  # --data-dir still wins


def test_an_older_dot_citeqa_in_the_working_directory_is_still_used_and_said_once(
    user_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = Path(".citeqa")
    old.mkdir()
    (old / "milvus.db").mkdir()
    assert Settings(_env_file=None).data_dir == places.user_data_dir()  # an empty one (no ingest record) is not
    (old / "docs.synced.json").write_text("{}")
    with caplog.at_level(logging.WARNING, logger="citeqa"):
        assert Settings(_env_file=None).data_dir == old.absolute()
        assert Settings(_env_file=None).data_dir == old.absolute()
    said = [r.getMessage() for r in caplog.records if ".citeqa" in r.getMessage()]
    assert len(said) == 1 and "CITEQA_DATA_DIR" in said[0]


def test_an_empty_index_says_so_and_creates_nothing(user_home: Path) -> None:
    data = places.user_data_dir()
    shown = places.shown(data)
    expected = f"No documents are indexed in {shown} (collection docs). Add some with `citeqa ingest PATH`."

    r = cli_run("ask", KESTREL, "--no-generate")
    assert r.exit_code == 1 and expected in r.output
    assert "do not contain" not in r.output

    r = cli_run("ask", KESTREL, "--json", "--no-generate")
    answer = json.loads(r.stdout)
    assert r.exit_code == 1
    assert answer["abstained"] is True and answer["abstain_reason"] == "no_documents"
    assert answer["answer"] == expected and answer["sources"] == []

    for args in (["search", "warranty"], ["docs"], ["docs", "--json"]):
        r = cli_run(*args)
        assert r.exit_code == 1 and expected in r.output, args

    info = json.loads(cli_run("info", "--json").stdout)
    assert info["documents"] == 0 and info["passages"] == 0 and info["data_dir"] == str(data)
    assert not data.exists()  # no read-only command made it
    assert not Path(".citeqa").exists()


def test_after_ingest_ask_answers_from_another_directory_and_info_counts(user_home: Path, tmp_path: Path) -> None:
    assert cli_run("ingest", str(SAMPLE_DOCS), "-q").exit_code == 0
    os.chdir(tmp_path)
    r = cli_run("ask", KESTREL, "--no-generate", "--json")
    assert r.exit_code == 0, r.output
    answer = json.loads(r.stdout)
    assert "3 years" in answer["answer"] and answer["abstain_reason"] is None

    stats = json.loads(cli_run("stats", "--json").stdout)
    info = json.loads(cli_run("info", "--json").stdout)
    assert info["documents"] == stats["documents"] == 3
    assert info["passages"] == stats["chunks"] > 0
    assert info["data_dir"] == str(places.user_data_dir()) and info["collection"] == "docs"
    assert info["settings_from"]["data_dir"] == "default (per-user)"
    assert info["settings_from"]["workers"] == "env CITEQA_WORKERS"
    assert info["embedding_model"] == "all-MiniLM-L6-v2" and "SmolLM2" in info["chat_model"]
    assert info["generation"].startswith("auto")

    text = cli_run("--data-dir", str(tmp_path / "fresh"), "info").output
    assert f"data dir: {tmp_path / 'fresh'}" in text and "documents: 0" in text and "data_dir (flag --data-dir)" in text
    assert not (tmp_path / "fresh").exists()


def test_info_is_quick_and_loads_no_model(tmp_path: Path) -> None:
    """`citeqa info` in a fresh process: the heavy libraries stay unimported, and it takes about
    0.3 s of CPU (the child's CPU time: a test on another worker takes wall-clock time, not this)."""
    from tests.serving import env

    data = tmp_path / "data"
    probe = (
        "import sys, runpy; sys.argv = ['citeqa', 'info', '--json']\n"
        "try:\n    runpy.run_module('citeqa.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = {'torch', 'sentence_transformers', 'llama_cpp', 'pymilvus', 'transformers', 'onnxruntime'}\n"
        "print(sorted(heavy & set(sys.modules)), file=sys.stderr)\n"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env(data), cwd=REPO, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["documents"] == 0
    assert r.stderr.strip().splitlines()[-1] == "[]"
    assert seconds < 2.0, seconds
    assert not data.exists()


def test_the_http_api_answers_409_when_nothing_is_indexed(engine) -> None:
    import openai
    from fastapi.testclient import TestClient

    from citeqa.server.app import create_app

    with TestClient(create_app(engine), base_url="http://127.0.0.1") as http:
        client = openai.OpenAI(base_url="http://127.0.0.1/v1", api_key="unused", http_client=http, max_retries=0)
        with pytest.raises(openai.ConflictError) as err:
            client.chat.completions.create(model="docs", messages=[{"role": "user", "content": KESTREL}])
        body = err.value.body
        assert err.value.status_code == 409 and body["code"] == "no_documents"
        assert "No documents are indexed in" in body["message"] and "citeqa ingest PATH" in body["message"]
        found = http.post("/v1/search", json={"query": "warranty"})
        assert found.status_code == 409 and found.json()["error"]["code"] == "no_documents"
        listed = http.get("/v1/documents")
        assert listed.status_code == 409 and "citeqa ingest PATH" in listed.json()["error"]["message"]
        health = http.get("/healthz").json()
        assert health["status"] == "ok" and health["info"]["documents"] == 0
    assert not engine.settings.data_dir.exists()


def test_the_web_app_names_the_index_as_citeqa_info_does(app_env: Path, embedder) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.markdown_text import unescape_md
    from tests.test_app import APP, _ingest

    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    shown = unescape_md("\n".join(m.value for m in at.info))
    assert f"No documents are indexed in {app_env}" in shown and "citeqa ingest PATH" in shown

    import streamlit as st

    st.cache_resource.clear()  # the app's engine holds the data dir: closed, as a restart would
    _ingest(app_env, embedder, [SAMPLE_DOCS])
    at = AppTest.from_file(APP, default_timeout=240)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    facts = unescape_md("\n".join(c.value for c in at.sidebar.caption))
    assert f"**data dir**: {app_env}" in facts and "**documents**: 3" in facts and "**passages**: 6" in facts
    assert "**collection**: docs" in facts and "**embedding model**: all-MiniLM-L6-v2" in facts
