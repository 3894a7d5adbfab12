"""Shared fixtures: real models loaded once per session, a fresh milvus-lite per test."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from citeqa.core.settings import Settings

# A suite started in the background by a non-interactive shell (`make test &`, nohup) inherits
# SIGINT ignored, and so would the citeqa processes the tests stop as Ctrl-C does (`citeqa watch`):
# they would never stop. A handler here is reset to the default in every child.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = REPO / "sample_docs"
CORPUS = REPO.parent / "shared" / "corpus"

# Tests must not depend on a developer's own configuration, nor reach a model hub.
for _k in [k for k in os.environ if k.startswith("CITEQA_")]:
    del os.environ[_k]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# Nor touch the user's own data and cache dirs (the per-user defaults, citeqa.core.places), nor
# another session's: what a test does not point elsewhere lands in this session's temporary data
# dir, and every child process started with this environment does the same. The cache (the
# exported int8 embedding model) is this session's too: exported once per run (about 20 s), and
# never half-written by another run (a second suite, or a citeqa app on the same machine).
# A child process that imports this module (a script a test runs) is part of the same session: it
# uses the session's dir rather than leaving a new one behind.
_OWN_SESSION_DIR = not os.environ.get("_CITEQA_TESTS_SESSION_DIR")
SESSION_DIR = Path(os.environ.get("_CITEQA_TESTS_SESSION_DIR", "") or tempfile.mkdtemp(prefix="citeqa-tests-"))
os.environ["_CITEQA_TESTS_SESSION_DIR"] = str(SESSION_DIR)
# The session's XDG cache dir, whose citeqa folder is the per-user default cache dir: children that
# drop CITEQA_* (a `streamlit run` started as a user would) still find the exported model there.
SESSION_CACHE = SESSION_DIR / "xdg-cache"
os.environ["CITEQA_DATA_DIR"] = str(SESSION_DIR / "data")
os.environ["XDG_CACHE_HOME"] = str(SESSION_CACHE)
os.environ["CITEQA_CACHE_DIR"] = str(SESSION_CACHE / "citeqa")


def make_settings(data_dir: Path, **kw) -> Settings:
    kw.setdefault("n_ctx", 2048)
    kw.setdefault("max_tokens", 96)
    kw.setdefault("temperature", 0.0)
    kw.setdefault("workers", 1)
    # llama.cpp threads busy-wait: on a loaded 2-core machine two threads run far slower than one.
    kw.setdefault("n_threads", 1)
    return Settings(_env_file=None, data_dir=data_dir, **kw)


@contextlib.contextmanager
def one_document(root: Path, embedder, name: str, text: str) -> Iterator:
    """A Citeqa engine over one document, `text` written as `name` under `root` and ingested."""
    from citeqa.engine import Citeqa

    (root / "docs").mkdir()
    (root / "docs" / name).write_text(text, encoding="utf-8")
    with Citeqa(make_settings(root / "data"), embedder=embedder) as qa:
        assert not qa.ingest([root / "docs"]).failed
        yield qa


def document_engine(name: str, text: str):
    """A module-scoped `engine` fixture for a test file: a Citeqa engine over one document."""

    @pytest.fixture(scope="module")
    def engine(tmp_path_factory: pytest.TempPathFactory, embedder) -> Iterator:
        with one_document(tmp_path_factory.mktemp("document"), embedder, name, text) as qa:
            yield qa

    return engine


def ask_evidence(engine, question: str):
    """The evidence answer to `question`, as `citeqa ask --no-generate` gives it."""
    return engine.ask(question, generate="never")


def unprivileged() -> list[str]:
    """A command prefix that runs a child without the capabilities that let root read any file or
    folder whatever its mode (util-linux setpriv), so mode 000 really denies; empty when not root.
    Skips the calling test when that cannot be done here."""
    if os.geteuid() != 0:
        return []
    import shutil
    import subprocess

    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and util-linux setpriv is missing: cannot make a file unreadable")
    drop = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    probe = subprocess.run([*drop, "true"], capture_output=True, text=True)
    if probe.returncode:
        pytest.skip(f"cannot drop root's file capabilities here: {probe.stderr.strip()}")
    return drop


def wait_for_port(port: int, proc, timeout: float = 120) -> None:
    """Wait until something listens on 127.0.0.1:`port`; fail if `proc` (a subprocess.Popen, the
    server) exits first, with what it printed."""
    import socket
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None:
            pytest.fail(f"the server exited: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.2)
    pytest.fail(f"nothing listened on port {port} within {timeout} s")


@pytest.fixture(autouse=True)
def own_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test has a home of its own: HOME and the XDG data, config and state folders under the
    session's temporary folder, so that a per-user default (platformdirs' data and config dirs, ~)
    never reaches the user's real ones, nor another test's, in this process or in any child it
    starts. The cache dir is the session's (above): derived files only, exported once per run.
    Outside tmp_path, so that a test listing its tmp_path sees only what it wrote."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(SESSION_CACHE))
    for var, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_CONFIG_HOME", ".config"), ("XDG_STATE_HOME", ".local/state")):
        monkeypatch.setenv(var, str(home / sub))
    return home


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture(scope="session")
def embedder():
    from citeqa.retrieval.embedder import Embedder

    return Embedder.from_settings(make_settings(Path("unused")))


@pytest.fixture(scope="session")
def generator():
    from citeqa.answer.llm import LocalGenerator

    return LocalGenerator.from_settings(make_settings(Path("unused")))


@pytest.fixture
def engine(settings: Settings, embedder, generator) -> Iterator:
    from citeqa.engine import Citeqa

    qa = Citeqa(settings, embedder=embedder, generator=generator)
    try:
        yield qa
    finally:
        qa.close()


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The app reads Settings() from the environment: point it at a fresh data dir."""
    data = tmp_path / "data"
    monkeypatch.chdir(tmp_path)  # no developer .env
    for k, v in {
        "CITEQA_DATA_DIR": str(data),
        "CITEQA_WORKERS": "1",
        "CITEQA_N_CTX": "2048",
        "CITEQA_MAX_TOKENS": "64",
        "CITEQA_TEMPERATURE": "0",
    }.items():
        monkeypatch.setenv(k, v)
    import streamlit as st

    st.cache_resource.clear()  # one engine per process: close any left by another test
    st.cache_data.clear()
    yield data
    st.cache_resource.clear()  # closes this test's engine, releasing its data dir


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "pdfs").is_dir():
        pytest.skip(f"../shared/corpus not found at {CORPUS}: the evaluation corpus ships beside the repo in CI only")
    return CORPUS


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Milvus gRPC endpoint (milvus-lite server) on a free loopback port: the path to a Milvus cluster or Zilliz."""
    import shutil
    import socket
    import subprocess
    import sys
    import time

    exe = shutil.which("milvus-lite", path=str(Path(sys.executable).parent)) or shutil.which("milvus-lite")
    if exe is None:
        pytest.skip("milvus-lite server executable not found")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path_factory.mktemp("milvus-server")
    proc = subprocess.Popen(
        [exe, "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None:
                pytest.fail(f"milvus-lite server exited: {proc.stdout.read().decode() if proc.stdout else ''}")
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(params=["lite", "server"])
def backend_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for embedded milvus-lite, and for a Milvus server with a collection of the test's own."""
    if request.param == "lite":
        return make_settings(tmp_path / "data")
    uri = request.getfixturevalue("milvus_server")
    name = "t_" + "".join(ch if ch.isalnum() else "_" for ch in request.node.name)[-40:]
    return make_settings(tmp_path / "data", milvus_uri=uri, collection=name)


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """llama-cpp-python's OpenAI-compatible server with the bundled GGUF, on a free loopback port."""
    from tests.llm_server import llama_cpp_server, server_missing

    if why := server_missing():
        pytest.skip(why)
    with llama_cpp_server(tmp_path_factory.mktemp("llm-server")) as server:
        yield server


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Files with slow tests first, each file's own order kept: `make test` runs the files on two
    workers (pytest-xdist, --dist loadfile), and a long file started last would leave one worker
    idle while the other finishes it."""
    slow = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    import shutil

    if _OWN_SESSION_DIR:
        shutil.rmtree(SESSION_DIR, ignore_errors=True)
