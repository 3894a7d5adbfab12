"""OpenAI-compatible servers with the bundled SmolLM2 GGUF on a free loopback port: the remote chat
model of the tests and of bench/remote.py.

- llama-cpp-python's own server (`python -m llama_cpp.server`): one request at a time.
- llama.cpp's `llama-server` (built by scripts/install_llama_server.sh into the virtualenv):
  `--parallel N` slots decoded together, as a team's shared model server would run."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from citeqa.core import bundled

ALIAS = "smollm2"
START_S = 120


@dataclass
class LlmServer:
    url: str  # the OpenAI API base, .../v1
    proc: subprocess.Popen
    log: Path

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        self.proc.wait(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_missing() -> str | None:
    """Why llama-cpp-python's server cannot run here, or None."""
    try:
        import fastapi  # noqa: F401
        import sse_starlette  # noqa: F401
        import starlette_context  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        return f"llama-cpp-python's server needs {e.name}: pip install -e '.[dev]'"
    return None


def _ready(url: str, api_key: str | None) -> bool:
    req = urllib.request.Request(f"{url}/models", headers={"Authorization": f"Bearer {api_key}"} if api_key else {})
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return bool(json.load(r).get("data"))
    except (OSError, urllib.error.URLError, ValueError):
        return False


def native_binary() -> Path | None:
    """llama.cpp's `llama-server`: the virtualenv's (scripts/install_llama_server.sh), else on PATH."""
    beside = Path(sys.executable).parent / "llama-server"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("llama-server")
    return Path(found) if found else None


def native_server_missing() -> str | None:
    """Why llama.cpp's server cannot run here, or None."""
    if native_binary() is None:
        return "llama.cpp's llama-server is not built: run scripts/install_llama_server.sh (make install-test does)"
    return None


@contextlib.contextmanager
def llama_cpp_server(
    workdir: Path, *, n_ctx: int = 2048, n_threads: int = 1, api_key: str | None = None, model: Path | None = None
) -> Iterator[LlmServer]:
    """llama-cpp-python's server, started and ready; stopped on exit (if still running)."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model or bundled.llm_path()), "--model_alias", ALIAS,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", str(n_ctx), "--n_threads", str(n_threads), "--n_threads_batch", str(n_threads),
        # By default a new request cuts the answer being streamed short: serve them in turn instead.
        "--interrupt_requests", "False", "--verbose", "False",
    ]  # fmt: skip
    with _serving(cmd, workdir / f"llama-cpp-python-{port}.log", port, ("--api_key", api_key)) as server:
        yield server


@contextlib.contextmanager
def llama_server(
    workdir: Path, *, parallel: int = 4, n_ctx: int = 2048, n_threads: int = 1, api_key: str | None = None
) -> Iterator[LlmServer]:
    """llama.cpp's server with `parallel` slots of `n_ctx` tokens each, started and ready."""
    binary = native_binary()
    if binary is None:
        raise RuntimeError(native_server_missing())
    port = free_port()
    cmd = [
        str(binary), "--model", str(bundled.llm_path()), "--alias", ALIAS,
        "--host", "127.0.0.1", "--port", str(port),
        "--ctx-size", str(n_ctx * parallel), "--parallel", str(parallel),
        "--threads", str(n_threads), "--threads-batch", str(n_threads),
    ]  # fmt: skip
    with _serving(cmd, workdir / f"llama-server-{port}.log", port, ("--api-key", api_key)) as server:
        yield server


@contextlib.contextmanager
def _serving(cmd: list[str], log: Path, port: int, key: tuple[str, str | None]) -> Iterator[LlmServer]:
    """`cmd` run with its API key option (`key`: the server's flag and the key, or None), until
    ready on `port`; stopped on exit."""
    flag, api_key = key
    if api_key:
        cmd = [*cmd, flag, api_key]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    with log.open("wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = LlmServer(f"http://127.0.0.1:{port}/v1", proc, log)
    try:
        deadline = time.monotonic() + START_S
        while not _ready(server.url, api_key):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{Path(cmd[0]).name} did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGCONT)  # in case a test froze it
                proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def at_once(ask: Callable[[str], object], questions: Iterable[str], sample: Callable[[], int]) -> tuple[dict, list[int]]:
    """Each question asked from its own thread, all at once, while `sample()` is read every 10 ms:
    the answers by question, and the samples (how many were being served, by some count)."""
    results: dict[str, object] = {}
    samples: list[int] = [0]
    done = threading.Event()

    def run(question: str) -> None:
        results[question] = ask(question)

    def watch() -> None:
        while not done.is_set():
            samples.append(sample())
            time.sleep(0.01)

    watcher = threading.Thread(target=watch)
    watcher.start()
    threads = [threading.Thread(target=run, args=(q,)) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    done.set()
    watcher.join()
    return results, samples
