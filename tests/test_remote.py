"""The chat model behind an OpenAI-compatible server: llama-cpp-python's own server with the bundled
GGUF on loopback, driven through the engine, the CLI and the web app, and made to fail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.answer.estimate import chat_overhead, estimate_tokens
from citeqa.answer.generator import ChatPrompt
from citeqa.answer.generator_factory import make_generator
from citeqa.answer.llm import LocalGenerator
from citeqa.answer.prompt import SYSTEM_PROMPT, build_prompt
from citeqa.answer.remote import RemoteGenerator
from citeqa.core.errors import ModelServerError
from citeqa.core.events import Draft, EvidenceReady, text_of
from citeqa.engine import Citeqa
from tests.conftest import SAMPLE_DOCS, make_settings
from tests.llm_server import ALIAS, at_once, llama_cpp_server, server_missing

AURORA = "What was the maximum depth of Aurora Lake?"
QUESTIONS = {
    AURORA: "aurora_lake_field_station_2023.pdf",
    "How long does the Kestrel K2 warranty last?": "kestrel_k2_handbook.md",
    "When is the Project Heron launch date?": "heron_steering_meeting_2024-03-14.txt",
    "How often should the Kestrel K2 burr chamber be brushed?": "kestrel_k2_handbook.md",
}


@pytest.fixture
def remote_engine(tmp_path: Path, embedder, llm_server) -> Citeqa:
    # Few passages and short answers: generation is the slow part, and the server has one thread.
    settings = make_settings(tmp_path / "data", llm_url=llm_server.url, max_tokens=32, top_k=2)
    qa = Citeqa(settings, embedder=embedder)
    report = qa.ingest([SAMPLE_DOCS])
    assert not report.failed
    yield qa
    qa.close()


@pytest.fixture
def own_server(tmp_path: Path):
    """A server of the test's own, to stop, freeze or kill."""
    if why := server_missing():
        pytest.skip(why)

    def start(**kw):
        return llama_cpp_server(tmp_path, **kw)

    return start


def _remote(url: str, **kw) -> RemoteGenerator:
    kw.setdefault("max_tokens", 48)
    kw.setdefault("temperature", 0.0)
    return RemoteGenerator(url, **kw)


# -- answers through the server ---------------------------------------------------


def test_the_factory_picks_the_server_and_never_loads_llama_cpp(llm_server) -> None:
    code = (
        "import sys\n"
        "from citeqa.core.settings import Settings\n"
        "from citeqa.answer.generator_factory import make_generator\n"
        f"g = make_generator(Settings(_env_file=None, llm_url={llm_server.url!r}))\n"
        "print(g.complete(g.render('Be brief.', [('user', 'Say hello.')]), max_tokens=8))\n"
        "assert 'llama_cpp' not in sys.modules, 'llama_cpp was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert isinstance(make_generator(make_settings(Path("unused"), llm_url=llm_server.url)), RemoteGenerator)


def test_counts_use_the_servers_tokenizer(llm_server, generator: LocalGenerator) -> None:
    remote = _remote(llm_server.url)
    text = "The maximum depth of Aurora Lake was 47.3 m in the 2023 survey <|im_end|>"
    assert remote.count_tokens(text) == generator.count_tokens(text)
    assert remote.model() == ALIAS and remote.name == f"{ALIAS} at {llm_server.url}"
    remote.close()


def test_prompt_budget_holds_with_the_servers_template(llm_server, generator: LocalGenerator, engine) -> None:
    """The remote count of a real prompt is never below what the server's template really makes
    of it (the local render of the same GGUF), and not far above."""
    engine.ingest([SAMPLE_DOCS])
    remote = _remote(llm_server.url, n_ctx=2048, max_tokens=96)
    for question in QUESTIONS:
        hits = engine.search(question, top_k=6)
        history = [("user", "Where is the field station?"), ("assistant", "On the lake's north shore [1].")]
        prompt, kept = build_prompt(remote, question, hits, history)
        assert isinstance(prompt, ChatPrompt) and kept
        exact = generator.count_prompt_tokens(generator.render(SYSTEM_PROMPT, prompt.messages))
        counted = remote.count_prompt_tokens(prompt)
        assert exact <= counted <= exact + chat_overhead(prompt)
        assert counted + remote.max_tokens <= remote.n_ctx
    remote.close()


def test_engine_streams_a_cited_answer_through_the_server(remote_engine: Citeqa) -> None:
    events = list(remote_engine.ask_stream(AURORA).events())
    answer = events[-1].answer
    assert isinstance(events[0], EvidenceReady) and "47 metres" in events[0].text  # evidence first
    assert any(isinstance(e, Draft) and e.text for e in events)  # then the server's text, streamed
    assert answer.answer_kind in ("generated", "extractive") and not answer.abstained
    assert "".join(text_of(e) for e in events) == answer.text
    top = answer.sources[0]
    assert Path(top.source).name == "aurora_lake_field_station_2023.pdf" and top.page == 2 and "47" in top.text
    assert {c.hit.chunk_id for c in answer.citations} <= {h.chunk_id for h in answer.sources}
    assert remote_engine.turns.slots == 4


def test_abstains_through_the_server(remote_engine: Citeqa) -> None:
    answer = remote_engine.ask("What is the orbital period of the moon Titan around Saturn?")
    assert answer.abstained and not answer.citations


def test_follow_up_resolves_through_the_server(remote_engine: Citeqa) -> None:
    history = [("user", "Tell me about Aurora Lake."), ("assistant", "It is a lake with a field station [1].")]
    answer = remote_engine.ask("How deep is it?", history=history)
    assert answer.standalone_question and answer.sources
    assert any("aurora" in Path(h.source).name for h in answer.sources)


@pytest.mark.slow
def test_four_questions_at_once_all_complete(remote_engine: Citeqa) -> None:
    results, running = at_once(
        lambda q: remote_engine.ask(q, generate="always"), QUESTIONS, lambda: remote_engine.turns.running
    )
    assert set(results) == set(QUESTIONS)
    for question, answer in results.items():
        assert Path(answer.sources[0].source).name == QUESTIONS[question], question  # its own answer
    assert max(running) > 1  # not one at a time: they were at the server together


def test_cli_ask_and_models_with_a_server(llm_server, tmp_path: Path, monkeypatch) -> None:
    from citeqa.cli import cli

    monkeypatch.chdir(tmp_path)
    user_url = llm_server.url.replace("http://", "http://someone:hunter2@")
    for k, v in {"CITEQA_DATA_DIR": str(tmp_path / "data"), "CITEQA_LLM_URL": user_url, "CITEQA_WORKERS": "1",
                 "CITEQA_MAX_TOKENS": "48", "CITEQA_TEMPERATURE": "0"}.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    runner = CliRunner()
    listed = runner.invoke(cli, ["models"])
    assert listed.exit_code == 0, listed.output
    first = listed.output.splitlines()[0]
    assert first.startswith(f"{ALIAS}\tserver (configured)\tready") and llm_server.url in first
    assert "hunter2" not in listed.output and "someone" not in listed.output
    assert runner.invoke(cli, ["-q", "ingest", str(SAMPLE_DOCS)]).exit_code == 0
    asked = runner.invoke(cli, ["ask", AURORA])
    assert asked.exit_code == 0, asked.output
    assert "aurora_lake_field_station_2023.pdf, p. 2" in asked.output
    assert "demo model" not in asked.output


# -- failures ---------------------------------------------------------------------


def test_a_stopped_server_is_one_message_in_the_cli_and_the_app(own_server, tmp_path: Path, monkeypatch, embedder) -> None:
    from citeqa.cli import cli

    with own_server() as server:
        url = server.url
    data = tmp_path / "data"
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        qa.ingest([SAMPLE_DOCS])
    monkeypatch.chdir(tmp_path)
    for k, v in {"CITEQA_DATA_DIR": str(data), "CITEQA_LLM_URL": url, "CITEQA_WORKERS": "1"}.items():
        monkeypatch.setenv(k, v)

    asked = CliRunner().invoke(cli, ["ask", AURORA])
    assert asked.exit_code == 1
    error = [line for line in asked.output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "cannot reach the chat model server" in error[0] and "CITEQA_LLM_URL" in error[0]
    assert "Traceback" not in asked.output

    listed = CliRunner().invoke(cli, ["models"])
    assert listed.exit_code == 0 and "\tunreachable\t" in listed.output and "CITEQA_LLM_URL" in listed.output

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_resource.clear()
    try:
        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app" / "main.py"), default_timeout=240)
        at.run()
        at.chat_input[0].set_value(AURORA).run()
        assert not at.exception, [e.value for e in at.exception]
        errors = [e.value for e in at.error]
        assert len(errors) == 1 and "cannot reach the chat model server" in errors[0]
    finally:
        st.cache_resource.clear()



def test_a_stopped_server_over_the_http_api_still_gives_the_evidence(tmp_path: Path, embedder) -> None:
    """`citeqa serve` with CITEQA_LLM_URL at a server that is not running: a whole answer is the
    error (503, naming the setting) with what the documents say beside it; a stream sends the
    evidence, then the error. Read with the openai client, as a program would."""
    import openai

    from tests.llm_server import free_port
    from tests.serving import start

    data = tmp_path / "data"
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        qa.ingest([SAMPLE_DOCS])
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    api = start(["serve"], data, tmp_path / "serve.log", CITEQA_LLM_URL=url, CITEQA_GENERATE="always")
    try:
        client = openai.OpenAI(base_url=api.v1, api_key="unused", max_retries=0, timeout=120)
        question = [{"role": "user", "content": AURORA}]
        with pytest.raises(openai.APIStatusError) as err:
            client.chat.completions.create(model="docs", messages=question)
        body = err.value.response.json()
        assert err.value.status_code == 503 and body["error"]["code"] == "model_unavailable"
        assert "cannot reach the chat model server" in body["error"]["message"] and "CITEQA_LLM_URL" in body["error"]["message"]
        assert "47 metres" in body["citeqa"]["shown"] and "aurora_lake_field_station_2023.pdf, p. 2" in body["citeqa"]["shown"]

        streamed = []
        with pytest.raises(openai.APIError, match="cannot reach the chat model server"):
            for chunk in client.chat.completions.create(model="docs", messages=question, stream=True):
                streamed.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
        assert "47 metres" in "".join(streamed)  # the evidence came first
    finally:
        api.stop()

def test_a_wrong_or_missing_key_names_the_setting(own_server, generator: LocalGenerator) -> None:
    with own_server(api_key="right-key") as server:
        prompt = ChatPrompt("Be brief.", (("user", "Say hello."),))
        for key, wording in (("wrong-key", "set CITEQA_LLM_API_KEY to a key it accepts"), (None, "it needs an API key")):
            gen = _remote(server.url, api_key=key)
            gen.count_prompt_tokens(prompt)  # refused too, but counting falls back to the estimate
            with pytest.raises(ModelServerError, match="HTTP 401") as err:
                list(gen.stream(prompt))
            assert err.value.reason == "auth" and wording in str(err.value)
            assert "right-key" not in str(err.value) and "wrong-key" not in str(err.value)
        good = _remote(server.url, api_key="right-key")
        assert good.complete(prompt, max_tokens=8)
        text = "The key is sent to the tokenizer too, so this count is exact."
        assert good.count_tokens(text) == generator.count_tokens(text) < estimate_tokens(text)


def test_a_model_the_server_does_not_serve_names_the_setting(llm_server) -> None:
    gen = _remote(llm_server.url, model="llama-2-7b-chat")
    with pytest.raises(ModelServerError, match="does not serve model 'llama-2-7b-chat'") as err:
        gen.complete(ChatPrompt("", (("user", "Hi"),)))
    assert err.value.reason == "model" and "CITEQA_LLM_MODEL" in str(err.value) and ALIAS in str(err.value)


def test_a_server_killed_mid_answer_is_a_cut_stream(own_server) -> None:
    with own_server() as server:
        gen = _remote(server.url, max_tokens=300)
        pieces = gen.stream(ChatPrompt("", (("user", "Write a long story about a lighthouse keeper."),)))
        got = [next(pieces)]
        server.kill()
        with pytest.raises(ModelServerError, match="stopped in the middle of the answer") as err:
            got.extend(pieces)
        assert err.value.reason == "cut" and "CITEQA_LLM_URL" in str(err.value) and got[0]


def test_a_frozen_server_times_out(own_server) -> None:
    with own_server() as server:
        gen = _remote(server.url, timeout=2.0)
        os.kill(server.proc.pid, signal.SIGSTOP)
        try:
            with pytest.raises(ModelServerError, match="sent nothing for 2 s") as err:
                gen.complete(ChatPrompt("", (("user", "Hi"),)))
        finally:
            os.kill(server.proc.pid, signal.SIGCONT)
        assert err.value.reason == "timeout" and "CITEQA_LLM_TIMEOUT" in str(err.value)


# -- the safe estimate, against the real tokenizer ------------------------------------


def _real_texts(corpus_dir: Path | None) -> list[str]:
    """Page texts of the sample documents and some of the evaluation corpus's papers."""
    from pypdf import PdfReader

    paths = sorted(SAMPLE_DOCS.iterdir())
    if corpus_dir is not None:
        paths += sorted((corpus_dir / "pdfs").glob("*.pdf"))[:6]
    texts = []
    for p in paths:
        if p.suffix == ".pdf":
            texts += [page.extract_text() or "" for page in PdfReader(p).pages]
        else:
            texts.append(p.read_text(encoding="utf-8"))
    return [t for t in texts if t.strip()]


def test_the_estimate_never_undercounts_real_text(generator: LocalGenerator) -> None:
    corpus = SAMPLE_DOCS.parents[1] / "shared" / "corpus"
    texts = _real_texts(corpus if (corpus / "pdfs").is_dir() else None)
    texts += ["Ünïcödé café naïve — “quotes” 10³ 北京 東京", "a8f3c9e1b7 0x7fff 3.14159 | --- | --- |", "\n\n\t  x"]
    ratios = []
    for text in texts:
        real, est = generator.count_tokens(text), estimate_tokens(text)
        assert est >= real, text[:200]
        ratios.append(est / max(real, 1))
    assert sorted(ratios)[len(ratios) // 2] < 2.5  # safe, not wasteful
    chat = ChatPrompt(SYSTEM_PROMPT, (("user", "q1"), ("assistant", "a1"), ("user", "q2")))
    rendered = generator.count_prompt_tokens(generator.render(chat.system, chat.messages))
    contents = sum(generator.count_tokens(t) for t in (chat.system, "q1", "a1", "q2"))
    assert rendered - contents <= chat_overhead(chat)


# -- pure helpers ---------------------------------------------------------------------


def test_stops_split_across_pieces_are_never_shown() -> None:
    from citeqa.answer.stops import StopCutter

    cut = StopCutter(["\nQuestion:", "[3] report.pdf"])
    shown = []
    for piece in ["The depth was 47 m [1", "].\nQue", "stion: what"]:
        text, stopped = cut.feed(piece)
        shown.append(text)
        if stopped:
            break
    assert "".join(shown) == "The depth was 47 m [1]." and stopped
    plain = StopCutter(["\nQuestion:"])
    assert plain.feed("ends with a newline\n") == ("ends with a newline", False)
    assert plain.flush() == "\n"


@pytest.mark.parametrize(
    ("url", "base", "shown"),
    [
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("http://gpu-box:8000/v1/", "http://gpu-box:8000/v1", "http://gpu-box:8000/v1"),
        ("https://me:secret@llm.example.org/openai/v1?key=k", "https://me:secret@llm.example.org/openai/v1",
         "https://llm.example.org/openai/v1"),
    ],
)  # fmt: skip
def test_server_urls(url: str, base: str, shown: str) -> None:
    from citeqa.answer.openai_http import api_base, public_url

    assert api_base(url) == base and public_url(api_base(url)) == shown
    with pytest.raises(ModelServerError, match="invalid CITEQA_LLM_URL"):
        RemoteGenerator("ftp://host/v1")
