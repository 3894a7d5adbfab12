"""The Python API, the LangChain retriever adapter, and the chat/models commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import citeqa
from citeqa.cli import cli
from citeqa.retrieval.langchain import CiteqaRetriever
from tests.conftest import SAMPLE_DOCS


def test_open_ask_returns_typed_answer(settings, embedder, generator):
    with citeqa.open(settings, embedder=embedder, generator=generator) as qa:
        qa.ingest([SAMPLE_DOCS])
        answer = qa.ask("How long is the warranty on the Kestrel K2 grinder?")
        assert isinstance(answer, citeqa.Answer)
        assert Path(answer.sources[0].source).name == "kestrel_k2_handbook.md"
        assert answer.sources[0].page is None  # Markdown has no pages
        assert "The Kestrel K2 warranty lasts 3 years" in answer.text
        d = answer.to_dict()
        assert d["question"].startswith("How long") and d["evidence"][0]["source"].endswith("kestrel_k2_handbook.md")


def test_langchain_retriever_returns_documents_with_citation_metadata(engine):
    engine.ingest([SAMPLE_DOCS])
    docs = CiteqaRetriever(retriever=engine.retriever, top_k=2).invoke("maximum depth of Aurora Lake")
    assert len(docs) == 2
    assert docs[0].metadata["source"].endswith("aurora_lake_field_station_2023.pdf")
    assert docs[0].metadata["page"] == 2 and "47" in docs[0].page_content
    only_md = CiteqaRetriever(retriever=engine.retriever, sources=("*.md",)).invoke("warranty")
    assert only_md and all(d.metadata["source"].endswith(".md") for d in only_md)


@pytest.fixture
def runner_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CITEQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CITEQA_N_CTX", "2048")
    monkeypatch.setenv("CITEQA_MAX_TOKENS", "48")
    monkeypatch.setenv("CITEQA_WORKERS", "1")
    monkeypatch.setenv("CITEQA_N_THREADS", "1")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_chat_resolves_a_follow_up_from_the_conversation(runner_env):
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(SAMPLE_DOCS)]).exit_code == 0
    r = runner.invoke(
        cli,
        ["chat", "--no-generate"],
        input="What was the maximum depth of Aurora Lake?\nand when was that measured?\n/new\n"
        "and when was that measured?\n/quit\n",
        catch_exceptions=False,
    )
    assert r.exit_code == 0, r.output
    first, follow, after_new = r.output.split("Sources:")[0], *r.output.split("(new conversation)")
    assert "“The station recorded the lake's maximum depth as 47 metres" in first
    # The follow-up is searched for with the question before it: its evidence names the 2023 survey.
    follow = follow.split("Sources:")[1]
    assert "also searched for: What was the maximum depth of Aurora Lake? and when was that measured?" in follow
    assert "The 2023 sonar survey" in follow or "2023" in follow.split("(a follow-up")[0]
    # After /new the same words have no conversation to lean on, and nothing is searched for with it.
    assert "also searched for" not in after_new


def test_models_lists_bundled_and_pull_fails_offline_in_one_line(runner_env, monkeypatch):
    runner = CliRunner()
    infos = json.loads(runner.invoke(cli, ["models", "--json"]).stdout)
    bundled = next(i for i in infos if i["role"].startswith("bundled"))
    assert bundled["present"] and bundled["quantization"] == "Q4_1" and bundled["chat_format"] == "gguf template"
    assert any(i["name"] == "llama-2-7b-chat" and not i["present"] for i in infos)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    r = runner.invoke(cli, ["models", "pull", "llama-2-7b-chat"])
    assert r.exit_code == 1 and "could not download" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert runner.invoke(cli, ["models", "pull", "nonexistent"]).exit_code == 1
