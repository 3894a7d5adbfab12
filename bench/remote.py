"""Four questions at once: the local GGUF in citeqa's process against the same model behind servers.

    .venv/bin/python bench/remote.py [--max-tokens N] [--threads N] [--rounds N] [--llm-url URL] [--out FILE]

The sample documents are ingested once; then, each round, the four questions are asked at the same
time from four threads (as four web sessions would), each taking its turn at the chat model through
the engine's turn queue like every edge does:

- local: the bundled SmolLM2 GGUF run by llama-cpp-python inside citeqa: one question at a time.
- llama-cpp-python server: the same GGUF behind `python -m llama_cpp.server` (same context and
  threads) on loopback, CITEQA_LLM_URL pointing at it. It serves one request at a time.
- llama.cpp server: the same GGUF behind llama.cpp's `llama-server --parallel 4` (built by
  scripts/install_llama_server.sh; left out, with a note, where it is not built), which decodes
  the four together, as a team's model server runs.
- With --llm-url, an already running server instead of the two (vLLM, Ollama), whose model may differ.

The remote systems get CITEQA_LLM_CONCURRENCY=4, so the four questions go to the server at once and
retrieval and checking overlap with generation. Reported: the time until all four are answered, and
each question's time to its answer, medians over rounds; each round shifts which system goes first.
Ratios are each remote's total over local's, in the same run. Writes bench/results/remote.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

RESULTS = REPO / "bench" / "results" / "remote.json"
N_CTX = 2048
QUESTIONS = (
    "What was the maximum depth of Aurora Lake?",
    "How long does the Kestrel K2 warranty last?",
    "When is the Project Heron launch date?",
    "How often should the Kestrel K2 burr chamber be brushed?",
)

WARM_UP = "Who attended the Project Heron steering meeting?"  # not one of the four: no answer cached


def four_at_once(qa, questions: Sequence[str]) -> tuple[float, list[float], list[str]]:
    """All questions from their own threads at once: (total s, each one's s, each top source)."""
    done: dict[int, tuple[float, str]] = {}
    start = threading.Barrier(len(questions) + 1)

    def ask(i: int, question: str) -> None:
        start.wait()
        # Each question takes its turn at the model inside `ask`, as at every edge; generation is
        # on even for the demo model, since this measures the model's throughput.
        answer = qa.ask(question, generate="always")
        done[i] = (time.perf_counter() - t0, Path(answer.sources[0].source).name if answer.sources else "")

    threads = [threading.Thread(target=ask, args=(i, q)) for i, q in enumerate(questions)]
    for t in threads:
        t.start()
    t0 = time.perf_counter()
    start.wait()
    for t in threads:
        t.join()
    each = [done[i][0] for i in range(len(questions))]
    return max(each), each, [done[i][1] for i in range(len(questions))]


@contextlib.contextmanager
def engine(settings, embedder) -> Iterator:
    from citeqa.engine import Citeqa

    qa = Citeqa(settings, embedder=embedder)
    try:
        qa.ask(WARM_UP, generate="always")  # the model loaded (or the server's model resolved) and its system prompt cached
        yield qa
    finally:
        qa.close()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="llama.cpp threads, local and server alike")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--llm-url", help="an already running OpenAI-compatible server to use as the remote")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)

    from citeqa.core.settings import Settings
    from citeqa.engine import Citeqa
    from citeqa.retrieval.embedder import Embedder
    from tests.conftest import SAMPLE_DOCS
    from tests.llm_server import llama_cpp_server, llama_server, native_server_missing

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        common = dict(_env_file=None, data_dir=Path(tmp) / "data", n_ctx=N_CTX, max_tokens=args.max_tokens,
                      temperature=0.0, n_threads=args.threads, workers=1)  # fmt: skip
        embedder = Embedder.from_settings(Settings(**common))
        with Citeqa(Settings(**common), embedder=embedder) as qa:
            qa.ingest([SAMPLE_DOCS])
        urls: dict[str, str] = {}
        if args.llm_url:
            urls["remote"] = args.llm_url
        else:
            server = llama_cpp_server(Path(tmp), n_ctx=N_CTX, n_threads=args.threads)
            urls["llama-cpp-python server"] = stack.enter_context(server).url
            if why := native_server_missing():
                print(f"llama.cpp server left out: {why}", file=sys.stderr)
            else:
                native = llama_server(Path(tmp), parallel=len(QUESTIONS), n_ctx=N_CTX, n_threads=args.threads)
                urls["llama.cpp server"] = stack.enter_context(native).url
        systems = {"local": Settings(**common)}
        systems |= {name: Settings(**common, llm_url=url, llm_concurrency=4) for name, url in urls.items()}
        order = list(systems)
        runs: dict[str, list[tuple[float, list[float], list[str]]]] = {name: [] for name in systems}
        for rnd in range(args.rounds):
            for name in order[rnd % len(order) :] + order[: rnd % len(order)]:
                with engine(systems[name], embedder) as qa:
                    runs[name].append(four_at_once(qa, QUESTIONS))
                print(f"round {rnd + 1} {name}: all four in {runs[name][-1][0]:.1f} s", file=sys.stderr)

    summary = {
        name: {
            "total_s": statistics.median(r[0] for r in rs),
            "each_s": [statistics.median(r[1][i] for r in rs) for i in range(len(QUESTIONS))],
            "top_sources": rs[-1][2],
        }
        for name, rs in runs.items()
    }
    ratios = {name: s["total_s"] / summary["local"]["total_s"] for name, s in summary.items() if name != "local"}
    print(f"\nFour questions at once, max_tokens {args.max_tokens}, {args.threads} llama.cpp thread(s), "
          f"median of {args.rounds} rounds ({os.cpu_count()} cores)")  # fmt: skip
    width = max(map(len, summary)) + 2
    print(f"{'':{width}}{'all four':>10}" + "".join(f"{f'q{i + 1}':>8}" for i in range(len(QUESTIONS))))
    for name, s in summary.items():
        print(f"{name:{width}}{s['total_s']:>9.1f}s" + "".join(f"{t:>7.1f}s" for t in s["each_s"]))
    for name, ratio in ratios.items():
        print(f"{name} / local total time: {ratio:.2f}" + (f" (server: {args.llm_url})" if args.llm_url else ""))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "ratios_to_local": ratios, "runs": runs,
                                    "max_tokens": args.max_tokens, "threads": args.threads,
                                    "llm_url": args.llm_url, "cores": os.cpu_count()}, indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
