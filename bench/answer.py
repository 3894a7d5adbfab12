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
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from citeqa.answer.llm import LocalGenerator as Generator

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.answer_report import N_CTX, N_THREADS, SYSTEMS, TOP_K, Run, fmt, print_report, summarize  # noqa: E402

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

# The LangChain RAG tutorial's prompt, as the brief gives it.
LANGCHAIN_TEMPLATE = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved context "
    "to answer the question. If you don't know the answer, just say that you don't know. Use three "
    "sentences maximum and keep the answer concise.\nQuestion: {question}\nContext: {context}\nAnswer:"
)


@dataclass
class Timed:
    """A drained text stream. Wall times are seconds since the start; cpu_* are `time.thread_time()`."""

    text: str
    first_s: float | None  # when the first non-empty piece came
    last_s: float | None
    end_s: float  # when the stream ended
    cpu_first: float | None
    cpu_last: float | None


def consume(pieces: Iterable[str], t0: float) -> Timed:
    """Drain a text stream, noting when its first and last non-empty pieces arrived."""
    parts: list[str] = []
    first = last = cpu_first = cpu_last = None
    for piece in pieces:
        if not piece:
            continue
        now, cpu = time.perf_counter() - t0, time.thread_time()
        if first is None:
            first, cpu_first = now, cpu
        last, cpu_last = now, cpu
        parts.append(piece)
    return Timed("".join(parts), first, last, time.perf_counter() - t0, cpu_first, cpu_last)


def tokens_per_s(n_tokens: int, start: float | None, end: float | None) -> float | None:
    """Tokens after the first over the time from the first piece to the last."""
    if n_tokens < 2 or start is None or end is None or end <= start:
        return None
    return (n_tokens - 1) / (end - start)


def make_run(system: str, qi: int, rnd: int, timed: Timed, n_tokens: int, **kw: Any) -> Run:
    return Run(
        system=system,
        question=qi,
        round=rnd,
        # An empty answer's first token was its end (the model stopped at once): count that.
        ttft_s=timed.first_s if timed.first_s is not None else timed.end_s,
        gen_tokens=n_tokens,
        gen_tps=tokens_per_s(n_tokens, timed.first_s, timed.last_s),
        gen_cpu_tps=tokens_per_s(n_tokens, timed.cpu_first, timed.cpu_last),
        total_s=kw.pop("total_s", timed.end_s),
        text=timed.text,
        **kw,
    )


# -- systems ------------------------------------------------------------------------


class CiteqaSystem:
    """One citeqa engine over a temporary data dir, kept for the whole benchmark."""

    def __init__(self, data_dir: Path, model: Path, corpus_paths: Sequence[Path], max_tokens: int) -> None:
        from citeqa.core.settings import Settings
        from citeqa.engine import Citeqa

        self.settings = Settings(
            _env_file=None,
            data_dir=data_dir,
            model=model,
            n_ctx=N_CTX,
            n_threads=N_THREADS,
            temperature=0.0,
            max_tokens=max_tokens,
            top_k=TOP_K,
        )
        self.qa = Citeqa(self.settings)
        t = time.perf_counter()
        report = self.qa.ingest(list(corpus_paths))
        stats = self.qa.stats()
        print(
            f"citeqa: ingested {stats['documents']} files, {stats['chunks']} chunks "
            f"({len(report.failed)} failed) in {time.perf_counter() - t:.1f}s",
            flush=True,
        )
        self.gen = self.qa.generator  # load the chat model now, not inside the first question
        _ = self.qa.answerer
        self.qa.retrieve("warm-up query")  # first-query costs (BM25 analyser, torch) are not per question

    def ask(self, question: str, qi: int, rnd: int) -> tuple[Run, str, list[str]]:
        """The run, the prompt citeqa sent (empty if it did not call the model) and its stop sequences."""
        from citeqa.answer.answerer import evidence_quotes
        from citeqa.answer.prompt import evidence_prompt, quote_stops
        from citeqa.core.events import Draft, text_of

        self.gen.last_prompt_eval_tokens = None  # set again only if this question reaches the model
        t0 = time.perf_counter()
        stream = self.qa.ask_stream(question, generate="always")
        evidence_s = None
        drafts: list[str] = []

        def model_text():  # the raw model tokens, timed as the other systems' are
            nonlocal evidence_s
            for event in stream.events():
                if evidence_s is None and text_of(event):
                    evidence_s = time.perf_counter() - t0
                if isinstance(event, Draft):
                    drafts.append(event.text)
                    yield event.text

        timed = consume(model_text(), t0)
        answer = stream.answer
        total = time.perf_counter() - t0
        assert answer is not None
        prompt, stops = "", []
        eval_tokens = self.gen.last_prompt_eval_tokens
        if eval_tokens is not None:
            # The call the answerer made: the same evidence in gives the same prompt out.
            prompt, quotes = evidence_prompt(self.gen, question, evidence_quotes(answer.evidence, answer.sources))
            stops = list(dict.fromkeys((*self.gen.stop_sequences, *quote_stops(quotes))))
        run = make_run(
            "citeqa",
            qi,
            rnd,
            timed,
            self.gen.count_tokens(timed.text),
            total_s=total,
            retrieve_s=answer.timings.retrieve_s,
            prompt_tokens=self.gen.count_prompt_tokens(prompt) if prompt else None,
            prompt_eval_tokens=eval_tokens,
            after_last_s=None if timed.last_s is None else total - timed.last_s,
            model_called=eval_tokens is not None,
            evidence_s=evidence_s,
        )
        return run, prompt, stops

    def close(self) -> None:
        self.qa.close()


class BeforeSystem:
    """citeqa's answer path before evidence-first answers: the same engine's retrieval, then the
    top passages whole in the prompt, on a second copy of the model (so that neither copy's KV cache
    is disturbed by the other's prompts)."""

    def __init__(self, citeqa: CiteqaSystem) -> None:
        from citeqa.answer.llm import LocalGenerator as Generator

        self.qa = citeqa.qa
        self.gen = Generator.from_settings(citeqa.settings)

    def ask(self, question: str, qi: int, rnd: int) -> Run:
        from citeqa.answer.prompt import build_prompt, echo_stops

        t0 = time.perf_counter()
        retrieved = self.qa.retrieve(question)
        retrieve_s = time.perf_counter() - t0
        prompt, kept = build_prompt(self.gen, question, retrieved.hits)
        timed = consume(self.gen.stream(prompt, temperature=0.0, stop=echo_stops(kept)), t0)
        return make_run(
            "before",
            qi,
            rnd,
            timed,
            self.gen.count_tokens(timed.text),
            retrieve_s=retrieve_s,
            prompt_tokens=self.gen.count_prompt_tokens(prompt),
            prompt_eval_tokens=self.gen.last_prompt_eval_tokens,
        )

    def close(self) -> None:
        self.gen.close()


class DirectSystem:
    """llama-cpp-python's `Llama`, loaded once, completing citeqa's prompts."""

    def __init__(self, model: Path, max_tokens: int, gen: Generator) -> None:
        import llama_cpp

        self.llm = llama_cpp.Llama(
            model_path=str(model),
            n_ctx=N_CTX,
            n_threads=N_THREADS,
            n_threads_batch=N_THREADS,
            n_gpu_layers=-1 if llama_cpp.llama_supports_gpu_offload() else 0,
            verbose=False,
        )
        self.max_tokens = max_tokens
        self.gen = gen  # citeqa's, for its repeat penalty and tokenizer (token counts only, untimed)

    def ask(self, prompt: str, stops: list[str], qi: int, rnd: int) -> Run:
        t0 = time.perf_counter()
        chunks: Any = self.llm.create_completion(
            prompt,
            stream=True,
            max_tokens=self.max_tokens,
            temperature=0.0,
            repeat_penalty=self.gen.repeat_penalty,
            stop=stops,
        )
        timed = consume((c["choices"][0]["text"] for c in chunks), t0)
        n = self.gen.count_tokens(timed.text)
        return make_run("direct", qi, rnd, timed, n, prompt_tokens=self.gen.count_prompt_tokens(prompt))

    def close(self) -> None:
        self.llm.close()


class LangChainSystem:
    """The LangChain RAG tutorial chain, with `LlamaCpp` as the model."""

    def __init__(self, model: Path, corpus: Path, max_tokens: int) -> None:
        from langchain_community.document_loaders import PyPDFLoader, TextLoader
        from langchain_community.llms import LlamaCpp
        from langchain_core.output_parsers import StrOutputParser
        from langchain_core.prompts import PromptTemplate
        from langchain_core.runnables import RunnableLambda, RunnablePassthrough
        from langchain_core.vectorstores import InMemoryVectorStore
        from langchain_huggingface import HuggingFaceEmbeddings
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from citeqa.core import bundled

        t = time.perf_counter()
        docs = []
        for pdf in sorted((corpus / "pdfs").glob("*.pdf")):
            docs.extend(PyPDFLoader(str(pdf)).load())
        for txt in sorted((corpus / "squad" / "docs").glob("*.txt")):
            docs.extend(TextLoader(str(txt), encoding="utf-8").load())
        splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
        embeddings = HuggingFaceEmbeddings(model_name=str(bundled.embedder_path()))
        store = InMemoryVectorStore.from_documents(splits, embeddings)
        retriever = store.as_retriever(search_kwargs={"k": TOP_K})
        print(
            f"langchain: indexed {len(docs)} documents, {len(splits)} chunks in {time.perf_counter() - t:.1f}s",
            flush=True,
        )

        self.llm = LlamaCpp(
            model_path=str(model),
            n_ctx=N_CTX,
            n_threads=N_THREADS,
            # LlamaCpp's own default n_batch is 8, which would make its prompt evaluation far slower;
            # 512 is llama-cpp-python's default, which citeqa and direct use. n_threads_batch is
            # not a LlamaCpp field and would otherwise default to every core.
            n_batch=512,
            model_kwargs={"n_threads_batch": N_THREADS},
            temperature=0.0,
            max_tokens=max_tokens,
            streaming=True,
            verbose=False,
        )
        self.prompt = PromptTemplate.from_template(LANGCHAIN_TEMPLATE)
        self.last: dict[str, Any] = {}

        def format_docs(docs: list) -> str:
            return "\n\n".join(d.page_content for d in docs)

        def timed_retrieval(question: str) -> str:
            # The tutorial's `retriever | format_docs`, timed.
            t = time.perf_counter()
            context = format_docs(retriever.invoke(question))
            self.last = {"retrieve_s": time.perf_counter() - t, "context": context}
            return context

        self.chain = (
            {"context": RunnableLambda(timed_retrieval), "question": RunnablePassthrough()}
            | self.prompt
            | self.llm
            | StrOutputParser()
        )
        retriever.invoke("warm-up query")

    def ask(self, question: str, gen: Generator, qi: int, rnd: int) -> Run:
        count_tokens, count_prompt_tokens = gen.count_tokens, gen.count_prompt_tokens
        t0 = time.perf_counter()
        timed = consume(self.chain.stream(question), t0)
        prompt = self.prompt.format(question=question, context=self.last["context"])
        return make_run(
            "langchain",
            qi,
            rnd,
            timed,
            count_tokens(timed.text),
            retrieve_s=self.last["retrieve_s"],
            prompt_tokens=count_prompt_tokens(prompt),
        )

    def close(self) -> None:
        self.llm.client.close()


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
