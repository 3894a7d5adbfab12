"""The chat model behind llama.cpp's own server (`llama-server --parallel 4`), the server a team
runs for several people at once: answers, the server's tokenizer, questions decoded together, and
its refusals, through the same RemoteGenerator as every OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from citeqa.answer.generator import ChatPrompt
from citeqa.answer.llm import LocalGenerator
from citeqa.answer.remote import RemoteGenerator
from citeqa.core.errors import ModelServerError
from citeqa.core.events import Draft, EvidenceReady, text_of
from citeqa.engine import Citeqa
from tests.conftest import SAMPLE_DOCS, make_settings
from tests.llm_server import ALIAS, LlmServer, at_once, llama_server, native_server_missing

QUESTIONS = {
    "What was the maximum depth of Aurora Lake?": "aurora_lake_field_station_2023.pdf",
    "How long does the Kestrel K2 warranty last?": "kestrel_k2_handbook.md",
    "When is the Project Heron launch date?": "heron_steering_meeting_2024-03-14.txt",
    "How often should the Kestrel K2 burr chamber be brushed?": "kestrel_k2_handbook.md",
}
KEY = "team-key"


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> LlmServer:
    if why := native_server_missing():
        pytest.skip(why)
    with llama_server(tmp_path_factory.mktemp("llama-server"), parallel=4, api_key=KEY) as server:
        yield server


@pytest.fixture
def native_engine(tmp_path: Path, embedder, native: LlmServer) -> Citeqa:
    settings = make_settings(
        tmp_path / "data", llm_url=native.url, llm_api_key=KEY, llm_concurrency=4, max_tokens=32, top_k=2
    )
    qa = Citeqa(settings, embedder=embedder)
    assert not qa.ingest([SAMPLE_DOCS]).failed
    yield qa
    qa.close()


def test_a_cited_answer_streams_through_llama_server(native_engine: Citeqa) -> None:
    events = list(native_engine.ask_stream("What was the maximum depth of Aurora Lake?").events())
    answer = events[-1].answer
    assert isinstance(events[0], EvidenceReady) and "47 metres" in events[0].text  # evidence first
    assert any(isinstance(e, Draft) and e.text for e in events)  # then the server's text, streamed
    assert not answer.abstained and "".join(text_of(e) for e in events) == answer.text
    top = answer.sources[0]
    assert Path(top.source).name == "aurora_lake_field_station_2023.pdf" and top.page == 2
    assert {c.hit.chunk_id for c in answer.citations} <= {h.chunk_id for h in answer.sources}


def test_counts_use_llama_servers_tokenizer(native: LlmServer, generator: LocalGenerator) -> None:
    remote = RemoteGenerator(native.url, api_key=KEY, max_tokens=32)
    text = "The maximum depth of Aurora Lake was 47.3 m in the 2023 survey <|im_end|>"
    assert remote.count_tokens(text) == generator.count_tokens(text)  # /tokenize, special tokens parsed
    assert remote.model() == ALIAS
    remote.close()


def test_four_questions_at_once_are_decoded_together(native_engine: Citeqa, native: LlmServer) -> None:
    """The four are at the server together and its slots work on them at the same time (its /slots
    report), not one after another as behind a single local model."""
    base = native.url.removesuffix("/v1")
    with httpx.Client(headers={"Authorization": f"Bearer {KEY}"}) as client:

        def busy_slots() -> int:
            return sum(bool(s.get("is_processing")) for s in client.get(f"{base}/slots", timeout=5).json())

        results, busy = at_once(lambda q: native_engine.ask(q, generate="always"), QUESTIONS, busy_slots)
    assert set(results) == set(QUESTIONS)
    for question, answer in results.items():
        assert Path(answer.sources[0].source).name == QUESTIONS[question], question  # its own answer
        assert answer.evidence and not answer.abstained
    assert max(busy) >= 2, f"llama-server never had two questions in its slots at once: {sorted(set(busy))}"


def test_a_wrong_key_and_an_unserved_model_name_the_settings(native: LlmServer) -> None:
    prompt = ChatPrompt("Be brief.", (("user", "Say hello."),))
    wrong = RemoteGenerator(native.url, api_key="wrong-key", max_tokens=8)
    with pytest.raises(ModelServerError, match="HTTP 401") as err:
        list(wrong.stream(prompt))
    assert err.value.reason == "auth" and "CITEQA_LLM_API_KEY" in str(err.value) and KEY not in str(err.value)
    # llama-server answers any model name with its own model; citeqa checks the name against its list.
    typo = RemoteGenerator(native.url, api_key=KEY, model="llama-2-7b-chat", max_tokens=8)
    with pytest.raises(ModelServerError, match="does not serve model 'llama-2-7b-chat'") as err:
        typo.complete(prompt)
    assert err.value.reason == "model" and "CITEQA_LLM_MODEL" in str(err.value) and ALIAS in str(err.value)
