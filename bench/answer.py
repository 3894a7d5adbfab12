"""Answer benchmark: citeqa against its own whole-passage prompt, llama-cpp-python and a LangChain chain.

    .venv/bin/python bench/answer.py [--questions N] [--max-tokens N] [--rounds N] [--model PATH] [--corpus DIR] [--out FILE]

For a fixed list of questions over ../shared/corpus, in one long-lived process:

- citeqa (one `Citeqa` engine, as `citeqa chat` or the web app hold one, CITEQA_GENERATE=always):
  retrieval time, when the evidence answer was shown (its first piece), prompt tokens of the evidence
  prompt, prompt tokens actually evaluated (the rest was reused from llama.cpp's KV cache), time to
  the model's first token, generation tokens/s, total time.
- before: what citeqa did before evidence-first answers, in the same run: the same retrieval, then
  the four whole passages in the prompt (`build_prompt`), completed by a second copy of the model.
- direct: a plain `llama_cpp.Llama` (same model file, n_ctx, threads) completing the very prompt
  citeqa built, with the same max_tokens, temperature 0, repeat penalty and stop sequences.
  Target: citeqa's generation tokens/s within 10% of this.
- langchain: the LangChain RAG tutorial chain (RecursiveCharacterTextSplitter 1000/200 over
  PyPDFLoader/TextLoader documents, HuggingFaceEmbeddings of the same all-MiniLM-L6-v2, an
  InMemoryVectorStore retriever's top 4, the tutorial's "stuff" prompt, `LlamaCpp` streaming).
  Target: citeqa's time to first token lower than this chain's.
- four at once (unless --no-remote): bench/remote.py's comparison of the same four questions asked
  at once of the local model and of the model behind llama-cpp-python's server and llama.cpp's
  `llama-server --parallel 4` (CITEQA_LLM_URL). Target: a server that batches (llama.cpp's)
  answers all four in less total time than the local model.

Generated tokens are counted with the chat model's tokenizer; generation tokens/s is the tokens
after the first over the time from the first streamed piece to the last, by the wall clock (the
target) and by the streaming thread's CPU time (blind to other processes on a shared machine). An
empty answer's time to first token is its end. Every system runs with one llama.cpp thread (on a
small shared machine llama.cpp's busy-waiting threads slow each other down), and each question is
asked `--rounds` times, alternating whether citeqa or direct goes first; ratios are medians over
back-to-back pairs, tables show medians over rounds. Ingestion is not measured.
Needs the bench extra: pip install -e ".[bench]". Writes bench/results/answer.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.answer_report import N_CTX, N_THREADS, SYSTEMS, TOP_K, Run, fmt, print_report, summarize  # noqa: E402
from bench.answer_systems import BeforeSystem, CiteqaSystem, DirectSystem, LangChainSystem  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
RESULTS = REPO / "bench" / "results" / "answer.json"

QUESTIONS: tuple[str, ...] = (
    "What default values does Adam use for beta1, beta2 and epsilon?",
    "How deep were the residual networks trained on ImageNet?",
    "What is internal covariate shift?",
    "How does Fusion-in-Decoder combine the retrieved passages?",
    "What is Reinforced Evol-Instruct in WizardMath?",
    "How many programming languages does The Stack v2 cover?",
    "In what country is Normandy located?",
    "What caused the 1973 oil crisis?",
)

def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--questions", type=int, default=len(QUESTIONS), help=f"how many of the {len(QUESTIONS)} questions"
    )
    p.add_argument("--max-tokens", type=int, default=128, help="generation limit, the same for every system")
    p.add_argument("--rounds", type=int, default=3, help="times each question is asked of each system")
    p.add_argument(
        "--model", type=Path, default=None, help="GGUF chat model (default: the bundled demo model)"
    )
    p.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="corpus dir with pdfs/ and squad/docs/"
    )
    p.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    p.add_argument(
        "--no-remote", dest="remote", action="store_false", help="skip the four-at-once comparison with model servers"
    )
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    corpus: Path = args.corpus.expanduser().resolve()
    corpus_paths = [corpus / "pdfs", corpus / "squad" / "docs"]
    missing = [p for p in corpus_paths if not p.is_dir()]
    if missing:
        print(
            f"corpus not found: {', '.join(map(str, missing))} missing.\n"
            "The evaluation corpus ships beside the repo as ../shared/corpus; pass --corpus DIR.",
            file=sys.stderr,
        )
        return 2
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # langchain-community's sunset notice
    try:
        import langchain_community  # noqa: F401
        import langchain_huggingface  # noqa: F401
    except ImportError as e:
        print(f"{e.name} is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return 2

    from citeqa.core import bundled

    model = (args.model or bundled.llm_path()).expanduser().resolve()
    questions = QUESTIONS[: max(1, min(args.questions, len(QUESTIONS)))]
    rounds = max(1, args.rounds)
    runs: list[Run] = []

    with tempfile.TemporaryDirectory(prefix="citeqa-bench-") as tmp:
        citeqa_sys = CiteqaSystem(Path(tmp) / "data", model, corpus_paths, args.max_tokens)
        before = BeforeSystem(citeqa_sys)
        direct = DirectSystem(model, args.max_tokens, citeqa_sys.gen)
        langchain = LangChainSystem(model, corpus, args.max_tokens)
        print(
            f"model {model.name}; {len(questions)} questions x {rounds} rounds x {len(SYSTEMS)} systems",
            flush=True,
        )
        prompts: dict[int, tuple[str, list[str]]] = {}  # question -> the prompt and stops citeqa used
        try:
            for rnd in range(1, rounds + 1):
                for qi, question in enumerate(questions, 1):
                    # Round 1 runs citeqa first: its prompt is what direct completes. Later rounds
                    # alternate, so that neither system always runs right after the other.
                    d_run = None
                    if rnd > 1 and (rnd + qi) % 2 == 0 and qi in prompts:
                        d_run = direct.ask(*prompts[qi], qi, rnd)
                    c_run, prompt, stops = citeqa_sys.ask(question, qi, rnd)
                    if prompt:
                        prompts[qi] = (prompt, stops)
                        if d_run is None:
                            d_run = direct.ask(prompt, stops, qi, rnd)
                    b_run = before.ask(question, qi, rnd)
                    l_run = langchain.ask(question, citeqa_sys.gen, qi, rnd)
                    runs.extend(r for r in (c_run, b_run, d_run, l_run) if r is not None)
                    print(
                        f"  round {rnd} q{qi}: citeqa ttft {fmt(c_run.ttft_s, '.2f')}s {fmt(c_run.gen_tps, '.1f')} tok/s"
                        f" (evaluated {c_run.prompt_eval_tokens}/{c_run.prompt_tokens}) | direct "
                        f"{fmt(d_run.gen_tps if d_run else None, '.1f')} tok/s | before ttft {fmt(b_run.ttft_s, '.2f')}s"
                        f" | langchain ttft {fmt(l_run.ttft_s, '.2f')}s | evidence {fmt(c_run.evidence_s, '.2f')}s",
                        flush=True,
                    )
        finally:
            langchain.close()
            before.close()
            direct.close()
            citeqa_sys.close()

    summary = summarize(runs, questions)
    print_report(summary, args.max_tokens, rounds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "config": {
            "model": str(model),
            "corpus": str(corpus),
            "questions": list(questions),
            "rounds": rounds,
            "max_tokens": args.max_tokens,
            "temperature": 0.0,
            "n_ctx": N_CTX,
            "n_threads": N_THREADS,
            "top_k": TOP_K,
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
        },
        **asdict(summary),
        "runs": [asdict(r) for r in runs],
    }
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")
    if args.remote:
        from bench import remote

        print("\nFour questions at once: the local model and the same model behind servers", flush=True)
        return remote.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
