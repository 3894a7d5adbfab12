"""HTTP API under load: search latency and time to first token, alone and while others ask and upload.

    .venv/bin/python bench/serve.py [--askers 8] [--uploaders 2] [--asks 2] [--probes 10] [--max-tokens 96] [--out FILE]

Starts `citeqa serve` on a free loopback port with a temporary data dir, uploads sample_docs/
through the API, then measures, with the official `openai` client and httpx:

- baseline: `--probes` searches (POST /v1/search) one after another, then `--probes` streamed
  completions, timing each search and each completion's first content piece (time to first token,
  TTFT, as a client sees it: HTTP, the wait for the model, retrieval, prompt evaluation);
- under load: while `--askers` clients each ask `--asks` questions (half of them streamed) and
  `--uploaders` clients each upload two new documents, all at once, a search every second and
  streamed questions one after another, until the load has ended.

It prints p50/p95 of both, the ratios load/baseline, and what the load got: answers, clean 429s
(the chat model's line full: CITEQA_MAX_WAITING), uploads, and any other outcome (there should be
none). Every request has a timeout and the whole load a deadline; traffic stays on 127.0.0.1.
Writes bench/results/serve.json. The probes' questions wait in the model's line like everyone's:
TTFT under load is mostly that wait.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import openai

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = REPO / "sample_docs"
RESULTS = REPO / "bench" / "results" / "serve.json"
QUESTIONS = (
    "What is the maximum depth of Aurora Lake?",
    "How long is the warranty on the Kestrel K2 grinder?",
    "When is the Project Heron launch date?",
    "Who is the director of the Aurora Lake Field Station?",
)
SEARCHES = ("maximum depth of the lake", "grinder warranty", "launch date decision", "operating budget 2023")
REQUEST_TIMEOUT_S = 300.0


# -- the load: askers and uploaders (also run by tests/test_serve_api.py) ---------------------------


@dataclass
class LoadResult:
    outcomes: Counter = field(default_factory=Counter)  # "answer", "429", "upload", or what went wrong
    problems: list[str] = field(default_factory=list)
    uploaded: dict[str, str] = field(default_factory=dict)  # path -> the fact it holds
    hung: int = 0  # clients still running at the deadline

    def note(self, outcome: str, problem: str = "") -> None:
        self.outcomes[outcome] += 1
        if problem:
            self.problems.append(problem)


def _ask(client: openai.OpenAI, question: str, stream: bool, result: LoadResult, lock: threading.Lock) -> None:
    try:
        if stream:
            chunks = list(client.chat.completions.create(model="docs", messages=[{"role": "user", "content": question}], stream=True))
            ok = chunks[-1].choices[0].finish_reason == "stop" and "citeqa" in (chunks[-1].model_extra or {})
        else:
            resp = client.chat.completions.create(model="docs", messages=[{"role": "user", "content": question}])
            ok = bool(resp.choices[0].message.content) and "citeqa" in (resp.model_extra or {})
        with lock:
            result.note("answer" if ok else "bad answer", "" if ok else f"{question}: incomplete answer")
    except openai.RateLimitError as exc:
        retry = exc.response.headers.get("retry-after", "")
        clean = retry.isdigit() and int(retry) >= 1 and exc.response.json()["error"]["type"] == "rate_limit_error"
        with lock:
            result.note("429" if clean else "bad 429", "" if clean else f"429 without Retry-After: {exc}")
    except Exception as exc:
        with lock:
            result.note(type(exc).__name__, f"{question}: {type(exc).__name__}: {exc}")


def _upload(base: str, headers: dict, name: str, fact: str, result: LoadResult, lock: threading.Lock) -> None:
    try:
        files = [("file", (name, f"# {name}\n\n{fact}\n".encode(), "text/markdown"))]
        r = httpx.post(f"{base}/v1/documents", files=files, headers=headers, timeout=REQUEST_TIMEOUT_S)
        entry = r.json()["data"][0] if r.status_code == 200 else {}
        with lock:
            if entry.get("status") == "added":
                result.uploaded[entry["path"]] = fact
                result.note("upload")
            else:
                result.note(f"upload {r.status_code}", f"upload {name}: {r.status_code} {r.text[:200]}")
    except Exception as exc:
        with lock:
            result.note(type(exc).__name__, f"upload {name}: {type(exc).__name__}: {exc}")


def run_load(base: str, api_key: str, *, askers: int = 8, uploaders: int = 2, asks: int = 2, deadline_s: float = 600) -> LoadResult:
    """`askers` clients each asking `asks` questions and `uploaders` clients each uploading two documents
    with a fact of their own, all at once; waits for all of them, at most `deadline_s`."""
    result, lock = LoadResult(), threading.Lock()
    headers = {"Authorization": f"Bearer {api_key}"}
    tag = os.urandom(3).hex()

    def asker(i: int) -> None:
        client = openai.OpenAI(base_url=f"{base}/v1", api_key=api_key, max_retries=0, timeout=REQUEST_TIMEOUT_S)
        for j in range(asks):
            _ask(client, QUESTIONS[(i + j) % len(QUESTIONS)], stream=(i + j) % 2 == 1, result=result, lock=lock)

    def uploader(i: int) -> None:
        for j in range(2):
            name = f"load-{tag}-{i}-{j}.md"
            _upload(base, headers, name, f"Locker {tag}-{i}-{j} holds {100 + 10 * i + j} spare oars.", result, lock)

    threads = [threading.Thread(target=asker, args=(i,), daemon=True) for i in range(askers)]
    threads += [threading.Thread(target=uploader, args=(i,), daemon=True) for i in range(uploaders)]
    for t in threads:
        t.start()
    end = time.monotonic() + deadline_s
    for t in threads:
        t.join(max(0.0, end - time.monotonic()))
    result.hung = sum(t.is_alive() for t in threads)
    return result


# -- probes ----------------------------------------------------------------------------------------


def time_search(base: str, headers: dict, query: str) -> float:
    t0 = time.perf_counter()
    r = httpx.post(f"{base}/v1/search", json={"query": query, "top_k": 4}, headers=headers, timeout=REQUEST_TIMEOUT_S)
    r.raise_for_status()
    return time.perf_counter() - t0


def time_first_token(client: openai.OpenAI, question: str, engine_times: list[float] | None = None) -> float:
    """Seconds to the first content piece, as the client sees it; appends the engine's own time to
    first token (from the final chunk's `citeqa.timings`, without HTTP or the wait in line) to
    `engine_times`."""
    t0 = time.perf_counter()
    first = None
    last = None
    for chunk in client.chat.completions.create(model="docs", messages=[{"role": "user", "content": question}], stream=True):
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - t0
        last = chunk
    if engine_times is not None and last is not None:
        engine = (last.model_extra or {}).get("citeqa", {}).get("timings", {}).get("first_token_s")
        if engine is not None:
            engine_times.append(engine)
    return first if first is not None else time.perf_counter() - t0


def probe(n: int, fn: Callable[[int], float], until: threading.Event | None = None, gap_s: float = 0.0) -> list[float]:
    """`n` timings of `fn`, one after another; with `until`, go on (at most 10n) until it is set,
    so that the probes cover the whole load, and stop early once it is."""
    out: list[float] = []
    i = 0
    while i < (10 * n if until is not None else n):
        if until is not None and until.is_set() and out:
            break
        out.append(fn(i))
        i += 1
        time.sleep(gap_s)
    return out


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    return statistics.quantiles(xs, n=100, method="inclusive")[int(q) - 1] if len(xs) > 1 else xs[0]


# -- the server ------------------------------------------------------------------------------------


def start_server(data_dir: Path, log: Path, api_key: str, max_tokens: int, max_waiting: int) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env.update(
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        CITEQA_DATA_DIR=str(data_dir),
        CITEQA_API_KEY=api_key,
        CITEQA_MAX_WAITING=str(max_waiting),
        CITEQA_MAX_TOKENS=str(max_tokens),
        CITEQA_TEMPERATURE="0",
        CITEQA_N_THREADS="1",  # llama.cpp's threads busy-wait: one is fastest on a small shared machine
        CITEQA_WORKERS="1",
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "citeqa.cli", "serve", "--port", str(port)], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return proc, wait_serving(proc, port, api_key, log)


def wait_serving(proc: subprocess.Popen, port: int, api_key: str, log: Path) -> str:
    """The base URL of the `citeqa serve` in `proc` once /healthz answers; exits if it does not
    within 300 s (its log in the message)."""
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"citeqa serve exited: {log.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", headers={"Authorization": f"Bearer {api_key}"}, timeout=5).status_code == 200:
                return base
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.kill()
    sys.exit(f"citeqa serve did not start within 300 s: {log.read_text()}")


def measure(base: str, api_key: str, probes: int, load: Callable[[], LoadResult] | None) -> tuple[dict, LoadResult | None]:
    """Search and TTFT probes: alone and one at a time (the baseline), or while `load` runs, a search
    a second and one question after another until it ends."""
    headers = {"Authorization": f"Bearer {api_key}"}
    client = openai.OpenAI(base_url=f"{base}/v1", api_key=api_key, max_retries=0, timeout=REQUEST_TIMEOUT_S)
    times: dict[str, list[float]] = {"engine_ttft": []}

    def search(i: int) -> float:
        return time_search(base, headers, SEARCHES[i % len(SEARCHES)])

    def first_token(i: int) -> float:
        return time_first_token(client, QUESTIONS[i % len(QUESTIONS)], times["engine_ttft"])

    if load is None:
        times["search"] = probe(probes, search, gap_s=0.2)
        times["ttft"] = probe(probes, first_token)
        return times, None
    done = threading.Event()
    box: dict[str, LoadResult] = {}
    runner = threading.Thread(target=lambda: (box.update(r=load()), done.set()), daemon=True)
    runner.start()
    time.sleep(0.5)  # the load's clients are connected and in line
    searcher = threading.Thread(target=lambda: times.update(search=probe(probes, search, done, gap_s=1.0)), daemon=True)
    searcher.start()
    times["ttft"] = probe(probes, first_token, done)
    searcher.join()
    runner.join()
    return times, box["r"]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--askers", type=int, default=8)
    ap.add_argument("--uploaders", type=int, default=2)
    ap.add_argument("--asks", type=int, default=2, help="questions per asker")
    ap.add_argument("--probes", type=int, default=10, help="searches and streamed questions timed per phase")
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--max-waiting", type=int, default=16, help="CITEQA_MAX_WAITING of the server")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    key = os.urandom(16).hex()
    with tempfile.TemporaryDirectory(prefix="citeqa-bench-serve-") as tmp:
        proc, base = start_server(Path(tmp) / "data", Path(tmp) / "serve.log", key, args.max_tokens, args.max_waiting)
        try:
            files = [("file", (p.name, p.read_bytes())) for p in sorted(SAMPLE_DOCS.iterdir())]
            httpx.post(f"{base}/v1/documents", files=files, headers={"Authorization": f"Bearer {key}"}, timeout=600).raise_for_status()
            time_first_token(openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0), QUESTIONS[0])  # warm up
            alone, _ = measure(base, key, args.probes, None)
            loaded, result = measure(
                base, key, args.probes, lambda: run_load(base, key, askers=args.askers, uploaders=args.uploaders, asks=args.asks)
            )
        finally:
            proc.terminate()
            proc.wait(30)
    report(alone, loaded, result, args)


def report(alone: dict, loaded: dict, result: LoadResult | None, args: argparse.Namespace) -> None:
    rows = {}
    print(f"{'':22}{'baseline p50':>14}{'p95':>9}{'under load p50':>16}{'p95':>9}{'ratio p50':>11}{'p95':>7}")
    for name, label in (("search", "search latency (s)"), ("ttft", "time to first token (s)")):
        a50, a95, l50, l95 = pct(alone[name], 50), pct(alone[name], 95), pct(loaded[name], 50), pct(loaded[name], 95)
        rows[name] = {"baseline": alone[name], "load": loaded[name], "ratio_p50": l50 / a50, "ratio_p95": l95 / a95}
        n = f"(n={len(alone[name])}, {len(loaded[name])})"
        print(f"{label:22}{a50:14.3f}{a95:9.3f}{l50:16.3f}{l95:9.3f}{l50 / a50:11.2f}{l95 / a95:7.2f}  {n}")
    overhead = [c - e for c, e in zip(alone["ttft"], alone["engine_ttft"], strict=False)]
    rows["http_overhead_s"] = overhead
    print(
        f"time to first token without load, client minus engine (HTTP, threads, SSE): p50 {pct(overhead, 50):.3f} s "
        f"of {pct(alone['ttft'], 50):.3f} s; under load the difference is mostly the wait in line"
    )
    assert result is not None
    print(
        f"load: {args.askers} askers x {args.asks} questions, {args.uploaders} uploaders x 2 files: "
        + ", ".join(f"{k} {v}" for k, v in sorted(result.outcomes.items()))
        + f"; still running at the deadline: {result.hung}"
    )
    for p in result.problems:
        print("problem:", p)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "probes": rows,
                                    "load": {**asdict(result), "outcomes": dict(result.outcomes)}}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
