"""Real citeqa servers for the tests: `citeqa serve` (or `mcp --http`, `serve-db`) as a subprocess on
a free loopback port, with its own data dir and the small settings of conftest.make_settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO

# conftest.make_settings, as environment variables for a child process.
SMALL = {
    "CITEQA_N_CTX": "2048",
    "CITEQA_MAX_TOKENS": "96",
    "CITEQA_TEMPERATURE": "0",
    "CITEQA_WORKERS": "1",
    "CITEQA_N_THREADS": "1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(data_dir: Path, **kw: str) -> dict[str, str]:
    # The temporary cache dir of conftest goes along: a child must not use the user's own.
    out = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_") or k == "CITEQA_CACHE_DIR"}
    out.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONPATH=str(REPO), CITEQA_DATA_DIR=str(data_dir))
    out.update(SMALL)
    out.update(kw)
    return out


def citeqa_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "citeqa.cli", *args]


@dataclass
class Server:
    proc: subprocess.Popen
    base: str  # http://127.0.0.1:PORT
    log: Path
    headers: dict[str, str]

    @property
    def v1(self) -> str:
        return f"{self.base}/v1"

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def start(args: list[str], data_dir: Path, log: Path, *, ready_path: str = "/healthz", api_key: str = "", **kw: str) -> Server:
    """Start `citeqa ARGS --port P` and wait until GET ready_path answers below 500 (at most 240 s)."""
    port = free_port()
    extra = {"CITEQA_API_KEY": api_key} if api_key else {}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            citeqa_cmd(*args, "--port", str(port)), cwd=REPO, env=env(data_dir, **extra, **kw), stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log, {"Authorization": f"Bearer {api_key}"} if api_key else {})
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"citeqa {' '.join(args)} exited with {proc.returncode}:\n{server.output()}")
        try:
            if httpx.get(server.base + ready_path, headers=server.headers, timeout=5).status_code < 500:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.stop()
    pytest.fail(f"citeqa {' '.join(args)} did not answer within 240 s:\n{server.output()}")
