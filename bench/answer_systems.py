"""bench/answer.py's four systems, each answering a question and timed the same way: citeqa, its
whole-passage prompt of before (`before`), llama-cpp-python on citeqa's prompt (`direct`) and the
LangChain RAG tutorial's chain (`langchain`); see bench/answer.py."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.answer_report import N_CTX, N_THREADS, TOP_K, Run

if TYPE_CHECKING:
    from citeqa.answer.llm import LocalGenerator as Generator

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
