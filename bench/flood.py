"""/healthz while uploads flood `citeqa serve` (issue 22): one large ingest, then many small uploads at once.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/flood.py [--big-mb 4] [--small 45] [--burn 0] [--rounds 1] [--code DIR ...]

Starts `citeqa serve` with CITEQA_API_KEY set on a loopback port and a temporary data dir, uploads
sample_docs/, then sends one `--big-mb` MB text file and, half a second later, `--small` small
files at once (each its own request), as the issue's case did. A client asks GET /healthz every
50 ms from before the large upload until the last upload has been answered, and /v1/documents
every second; it prints their latencies (p50, p95, max, and how many took over 1 s), the uploads'
statuses and the load average. `--burn N` keeps N busy-looping processes running during the
flood, for a machine as loaded as a shared one (the last session saw /healthz at 1.0-1.9 s only
at load averages of 8-13 on 2 cores). `--code DIR` (repeatable) runs the server from another
checkout of the repository (a `git archive` of an older commit, say), round by round in turn, so
that code before and after a change is measured in the same run on the same machine.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from serve import wait_serving

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = REPO / "sample_docs"
PACKAGES = ("app", "ingest", "retrieval", "answer")  # citeqa.X lives in X/ (pyproject's package-dir)


@dataclass
class Flood:
    healthz: list[float] = field(default_factory=list)
    slow: list[tuple[float, float, int]] = field(default_factory=list)  # /healthz over 0.5 s: (when, took, uploads answered)
    documents: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)  # seconds from the start when each upload was answered
    load: float = 0.0  # the 1-minute load average when the last upload was answered
    seconds: float = 0.0


def big_text(mb: float) -> bytes:
    """`mb` MB of report-like sentences, each different (so that chunks are not all one text)."""
    lines, size, i = [], 0, 0
    while size < mb * 2**20:
        line = f"Station {i % 97} logged sediment depth {i * 7 % 1000} cm and water temperature {i % 23} C on day {i}.\n"
        lines.append(line)
        size += len(line)
        i += 1
    return "".join(lines).encode()


def runnable(code: Path) -> Path:
    """`code` as the server's import root: a checkout's citeqa/ with links to its app/, ingest/, ...
    (the editable install maps citeqa.ingest to this repository's ingest/, not the checkout's)."""
    for name in PACKAGES:
        link = code / "citeqa" / name
        if code != REPO and not link.exists():
            link.symlink_to(Path("..") / name)
    return code


def start(code: Path, data_dir: Path, log: Path, key: str, extra: dict[str, str]) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_") or k == "CITEQA_CACHE_DIR"}
    env.update(
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONPATH=str(runnable(code)),
        CITEQA_DATA_DIR=str(data_dir),
        CITEQA_API_KEY=key,
        CITEQA_GENERATE="never",
    )
    env.update(extra)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "citeqa.cli", "serve", "--port", str(port)],
            cwd=code,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, wait_serving(proc, port, key, log)


def _burn() -> None:
    while True:
        pass


def flood(base: str, key: str, big_mb: float, small: int) -> Flood:
    headers = {"Authorization": f"Bearer {key}"}
    out = Flood()
    done = threading.Event()
    started = time.monotonic()

    def upload(item: tuple[str, bytes]) -> None:
        r = httpx.post(f"{base}/v1/documents", files=[("file", item)], headers=headers, timeout=900)
        out.statuses.append(r.status_code)
        out.answered.append(time.monotonic() - started)

    def probe() -> None:
        with httpx.Client(headers=headers, timeout=120) as http:
            last_list = 0.0
            while not done.is_set():
                t0 = time.monotonic()
                assert http.get(f"{base}/healthz").status_code == 200
                took = time.monotonic() - t0
                out.healthz.append(took)
                if took > 0.5:
                    out.slow.append((t0 - started, took, len(out.answered)))
                if t0 - last_list >= 1.0:
                    last_list = time.monotonic()
                    assert http.get(f"{base}/v1/documents").status_code == 200
                    out.documents.append(time.monotonic() - last_list)
                time.sleep(0.05)

    notes = [(f"note{i}.txt", f"Note {i}: the heron count at the north shore was {i}.\n".encode()) for i in range(small)]
    prober = threading.Thread(target=probe)
    prober.start()
    with ThreadPoolExecutor(small + 1) as pool:
        first = pool.submit(upload, ("bulk.txt", big_text(big_mb)))
        time.sleep(0.5)  # the large ingest takes the line first
        list(pool.map(upload, notes))
        first.result()
    out.load = os.getloadavg()[0]
    done.set()
    prober.join()
    out.seconds = time.monotonic() - started
    return out


def pct(xs: list[float], q: int) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[q - 1] if len(xs) > 1 else (xs or [0.0])[0]


def row(label: str, f: Flood) -> str:
    h, d = f.healthz, f.documents
    over = sum(1 for x in h if x > 1.0)
    codes = ", ".join(f"{c}: {f.statuses.count(c)}" for c in sorted(set(f.statuses)))
    return (
        f"{label:<28}{len(h):>6}{pct(h, 50):>8.3f}{pct(h, 95):>8.3f}{max(h):>8.3f}{over:>6}"
        f"{max(d, default=0):>10.3f}{f.load:>7.1f}{f.seconds:>8.0f}  {codes}"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--big-mb", type=float, default=4.0)
    ap.add_argument("--small", type=int, default=45)
    ap.add_argument("--burn", type=int, default=0, help="busy-looping processes during the flood")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--code", type=Path, action="append", help="a checkout to run the server from (default: this one)")
    ap.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server (repeatable)")
    args = ap.parse_args(argv)
    codes = [c.resolve() for c in args.code or [REPO]]
    extra = dict(e.split("=", 1) for e in args.env)
    key = os.urandom(16).hex()
    print(f"{'server code':<28}{'probes':>6}{'p50':>8}{'p95':>8}{'max':>8}{'>1s':>6}{'list max':>10}{'load':>7}{'secs':>8}  uploads")
    for _ in range(args.rounds):
        for code in codes:
            with tempfile.TemporaryDirectory(prefix="citeqa-bench-flood-") as tmp:
                proc, base = start(code, Path(tmp) / "data", Path(tmp) / "serve.log", key, extra)
                burners: list[multiprocessing.Process] = []
                try:
                    files = [("file", (p.name, p.read_bytes())) for p in sorted(SAMPLE_DOCS.iterdir())]
                    httpx.post(f"{base}/v1/documents", files=files, headers={"Authorization": f"Bearer {key}"}, timeout=600)
                    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(args.burn)]
                    for b in burners:
                        b.start()
                    result = flood(base, key, args.big_mb, args.small)
                finally:
                    for b in burners:
                        b.terminate()
                    proc.terminate()
                    proc.wait(60)
                print(row(str(code)[-28:], result), flush=True)
                for when, took, n in sorted(result.slow, key=lambda s: -s[1])[:5]:
                    last = max(result.answered)
                    print(f"    /healthz took {took:.2f} s at {when:.0f} s ({n} uploads answered; the last at {last:.0f} s)")


if __name__ == "__main__":
    main()
