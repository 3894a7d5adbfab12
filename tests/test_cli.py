"""The CLI through click's runner, with an isolated data dir and the real models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.cli import cli
from tests.conftest import SAMPLE_DOCS


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CITEQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CITEQA_N_CTX", "2048")
    monkeypatch.setenv("CITEQA_MAX_TOKENS", "64")
    monkeypatch.setenv("CITEQA_TEMPERATURE", "0")
    monkeypatch.setenv("CITEQA_WORKERS", "1")
    monkeypatch.setenv("CITEQA_N_THREADS", "1")
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_ingest_search_ask_docs(run, tmp_path: Path):
    r = run("ingest", str(SAMPLE_DOCS), "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["files"]["added"] == 3 and report["files"]["failed"] == 0
    assert report["chunks_added"] > 0 and report["failed"] == []
    assert set(report) >= {"files", "chunks_added", "seconds", "failed"}

    again = json.loads(run("ingest", str(SAMPLE_DOCS), "--json").stdout)
    assert again["files"]["unchanged"] == 3 and again["chunks_added"] == 0

    r = run("search", "maximum depth of Aurora Lake", "--json", "--top-k", "3")
    out = json.loads(r.stdout)
    assert out["query"] == "maximum depth of Aurora Lake" and len(out["hits"]) == 3
    top = out["hits"][0]
    assert set(top) == {"source", "page", "location", "text", "score", "chunk_id"}
    assert top["source"].endswith("aurora_lake_field_station_2023.pdf") and top["page"] == 2

    qfile = tmp_path / "q.jsonl"
    qfile.write_text('{"id": "a", "question": "Kestrel K2 warranty"}\n{"id": "b", "question": "lake depth"}\n')
    lines = [json.loads(x) for x in run("search", "--queries", str(qfile)).stdout.splitlines()]
    assert [x["id"] for x in lines] == ["a", "b"] and all(x["hits"] for x in lines)

    r = run("ask", "What was the maximum depth of Aurora Lake?", "--json", "--no-generate")
    assert r.exit_code == 0, r.output
    a = json.loads(r.stdout)
    assert set(a) >= {
        "question", "answer", "answer_kind", "abstained", "grounded", "evidence", "citations", "sources",
        "sentences", "timings",
    }  # fmt: skip
    assert set(a["timings"]) == {"retrieve_s", "evidence_s", "wait_s", "first_token_s", "total_s"}
    assert a["answer_kind"] == "extractive" and a["sentences"] == [] and a["timings"]["first_token_s"] is None
    assert a["sources"][0]["source"].endswith("aurora_lake_field_station_2023.pdf")
    assert a["sources"][0]["page"] == 2
    top = a["evidence"][0]
    assert set(top) == {"n", "source", "page", "location", "quote", "start", "end", "score", "kind"}
    assert top["kind"] == "sentence" and a["abstain_reason"] is None
    assert "maximum depth as 47 metres" in top["quote"] and top["page"] == 2
    passage = a["sources"][top["n"] - 1]
    assert passage["source"] == top["source"] and passage["text"][top["start"] : top["end"]] == top["quote"]
    assert " ".join(top["quote"].split()) in a["answer"] and "aurora_lake_field_station_2023.pdf, p. 2" in a["answer"]
    source_ids = {s["chunk_id"] for s in a["sources"]}
    assert all(c["chunk_id"] in source_ids for c in a["citations"])

    lines = run("ask", "--questions", str(qfile)).stdout.splitlines()
    assert [json.loads(x)["id"] for x in lines] == ["a", "b"]

    r = run("ask", "How long is the warranty on the Kestrel K2?")
    assert r.exit_code == 0 and "Sources:" in r.output and "kestrel_k2_handbook.md" in r.output
    assert "“The Kestrel K2 warranty lasts 3 years" in r.output.split("Sources:")[0]  # the evidence comes first

    docs = json.loads(run("docs", "--json").stdout)
    assert len(docs) == 3 and {d["pages"] for d in docs} >= {3}
    pdf = next(d["path"] for d in docs if d["path"].endswith(".pdf"))
    assert run("docs", "remove", pdf).exit_code == 0
    assert len(json.loads(run("docs", "--json").stdout)) == 2


def test_exit_codes(run, tmp_path: Path):
    assert run("ask").exit_code == 2  # usage error
    assert run("search", "--mode", "nope", "x").exit_code == 2

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_text("")
    (bad / "ok.md").write_text("# Fine\n\nThis file is fine and mentions zebras.\n")
    r = run("ingest", str(bad), "--json")
    assert r.exit_code == 1
    report = json.loads(r.stdout)
    assert report["files"] == {**report["files"], "added": 1, "failed": 1}
    assert report["failed"][0]["path"].endswith("empty.txt") and report["failed"][0]["error"]

    r = run("--model", str(tmp_path / "missing.gguf"), "ask", "zebras?")
    assert r.exit_code == 1
    assert "missing.gguf" in r.output and "Traceback" not in r.output
    # The evidence is shown before the model is needed; the error that follows is one line.
    lines = r.output.strip().splitlines()
    assert "zebras" in lines[1] and lines[-1].startswith("Error: chat model") and len(lines) == 3
