"""Collections (issue 26): several bodies of documents in one data dir, one engine, real milvus-lite."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.cli import cli
from citeqa.core.collections import BadCollectionName, UnknownCollection, check_name
from citeqa.core.errors import ConfigError, Refused
from citeqa.core.settings import Settings


def _notes(root: Path, name: str, text: str) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "notes.md").write_text(text)
    return folder


@pytest.fixture
def two(tmp_path: Path, engine):
    """Collections a and b, each with its own notes.md (same file name, different facts)."""
    a = _notes(tmp_path, "client_a", "# Falcon\n\nThe Falcon contract ends on 12 March 2024. It covers 40 servers.\n")
    b = _notes(tmp_path, "client_b", "# Falcon\n\nThe Falcon contract ends on 30 June 2031. It covers 7 laptops.\n")
    assert not engine.collection("a").ingest([a]).failed
    assert not engine.collection("b").ingest([b]).failed
    return engine, a, b


def test_each_collection_answers_from_its_own_documents(two):
    engine, a, b = two
    for name, folder, fact, other in (("a", a, "12 March 2024", "2031"), ("b", b, "30 June 2031", "2024")):
        answer = engine.ask("When does the Falcon contract end?", collection=name, generate=False)
        assert not answer.abstained, answer.text
        assert fact in answer.text and other not in answer.text
        assert {h.source for h in answer.sources} == {str(folder / "notes.md")}


def test_one_question_over_two_collections_names_each_quote_collection(two):
    engine, a, b = two
    answer = engine.ask("When does the Falcon contract end?", collection=["a", "b"], generate=False)
    assert not answer.abstained, answer.text
    assert {h.collection for h in answer.sources} == {"a", "b"}
    by_source = {h.source: h.collection for h in answer.sources}
    assert by_source == {str(a / "notes.md"): "a", str(b / "notes.md"): "b"}
    for e in answer.evidence:
        assert e.to_dict()["collection"] in ("a", "b")
        assert f"{e.hit.collection}: notes.md" in answer.text  # the quote names its collection
    hits = engine.search("Falcon contract servers", collection=["a", "b"])
    assert {h.collection for h in hits} == {"a", "b"}


def test_collections_share_the_models(two):
    engine, _a, _b = two
    view = engine.collection("b")
    assert view.embedder is engine.embedder and view.answerer is engine.answerer and view.turns is engine.turns
    assert engine.collection("b") is view  # built once


def test_list_counts_and_last_sync(two):
    engine, _a, _b = two
    infos = {c.name: c for c in engine.collections()}
    assert {"a", "b"} <= set(infos)
    assert infos["a"].documents == 1 and infos["a"].passages >= 1 and infos["a"].last_sync is not None


def test_delete_removes_its_uploads_and_manifest_and_nothing_else(two):
    engine, a, _b = two
    up = engine.collection("a").ingest_uploads([("memo.md", b"The Heron memo says the budget is 90 euros.\n")])
    assert up[0].result.status == "added"
    uploads = engine.collection("a").settings.uploads_dir
    assert (uploads / "memo.md").exists()
    other_up = engine.collection("b").ingest_uploads([("memo.md", b"The Heron memo for b says 5 euros.\n")])
    assert other_up[0].result.status == "added"

    engine.delete_collection("a")
    assert "a" not in engine.collection_names() and "b" in engine.collection_names()
    assert not uploads.exists()
    assert (a / "notes.md").exists()  # the user's own files are never touched
    assert (engine.collection("b").settings.uploads_dir / "memo.md").exists()
    assert len(engine.collection("b").documents()) == 2
    with pytest.raises(UnknownCollection, match="citeqa collections"):
        engine.delete_collection("a")


def test_rename_keeps_documents_and_uploads(two):
    engine, a, _b = two
    engine.collection("a").ingest_uploads([("memo.md", b"The Heron memo says the budget is 90 euros.\n")])
    engine.rename_collection("a", "client_a")
    names = engine.collection_names()
    assert "client_a" in names and "a" not in names
    moved = engine.collection("client_a")
    paths = {d.path for d in moved.documents()}
    assert paths == {str(a / "notes.md"), str(moved.settings.uploads_dir / "memo.md")}
    assert (moved.settings.uploads_dir / "memo.md").exists()
    answer = engine.ask("What budget does the Heron memo give?", collection="client_a", generate=False)
    assert "90 euros" in answer.text and answer.sources[0].source == str(moved.settings.uploads_dir / "memo.md")
    with pytest.raises(Refused, match="exists already"):
        engine.rename_collection("client_a", "b")


@pytest.mark.parametrize("bad", ["", "a-b", "9lives", "x" * 65, "my docs", "../etc", "docs_manifest"])
def test_bad_names_are_refused(bad):
    with pytest.raises(BadCollectionName, match="invalid collection name"):
        check_name(bad)
    with pytest.raises(ConfigError, match="CITEQA_COLLECTION"):
        Settings.load(_env_file=None, collection=bad or " ")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CITEQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CITEQA_WORKERS", "1")
    monkeypatch.setenv("CITEQA_N_THREADS", "1")
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str, stdin: str | None = None):
        return CliRunner().invoke(cli, list(args), input=stdin, catch_exceptions=False)

    return invoke


def test_cli_collections(run, tmp_path: Path):
    a = _notes(tmp_path, "client_a", "The Falcon contract ends on 12 March 2024.\n")
    b = _notes(tmp_path, "client_b", "The Falcon contract ends on 30 June 2031.\n")
    assert run("ingest", str(a), "--collection", "client_a").exit_code == 0
    assert run("--collection", "client_b", "ingest", str(b)).exit_code == 0
    r = run("collections", "create", "empty_one")
    assert r.exit_code == 0, r.output

    listed = {c["name"]: c for c in json.loads(run("collections", "--json").stdout)}
    assert listed["client_a"]["documents"] == 1 and listed["client_a"]["passages"] >= 1
    assert listed["client_a"]["last_sync"] and listed["empty_one"]["documents"] == 0
    text = run("collections").stdout
    assert "client_a\t1 document\t" in text and "never" in text.split("empty_one")[1].splitlines()[0]

    r = run("ask", "When does the Falcon contract end?", "--collection", "client_b", "--json", "--no-generate")
    answer = json.loads(r.stdout)
    assert "30 June 2031" in answer["answer"] and "2024" not in answer["answer"]
    assert answer["sources"][0]["source"] == str(b / "notes.md")

    r = run("ask", "When does the Falcon contract end?", "--collection", "client_a", "--collection", "client_b",
            "--json", "--no-generate")  # fmt: skip
    answer = json.loads(r.stdout)
    assert {s["collection"] for s in answer["sources"]} == {"client_a", "client_b"}
    r = run("search", "Falcon contract", "--collection", "client_a", "--collection", "client_b", "--json")
    assert {h["collection"] for h in json.loads(r.stdout)["hits"]} == {"client_a", "client_b"}

    r = run("docs", "--collection", "client_a", "--collection", "client_b")
    assert r.exit_code == 2 and "one collection" in r.output
    r = run("ingest", str(a), "--collection", "bad-name")
    assert r.exit_code == 2 and "invalid collection name 'bad-name'" in r.output

    r = run("collections", "rename", "client_a", "archive")
    assert r.exit_code == 0, r.output
    assert json.loads(run("docs", "--json", "--collection", "archive").stdout)[0]["path"] == str(a / "notes.md")

    r = run("collections", "delete", "archive")  # not a terminal: needs --yes
    assert r.exit_code == 1 and "--yes" in r.output
    assert "archive" in run("collections").stdout
    r = run("collections", "delete", "archive", "--yes")
    assert r.exit_code == 0, r.output
    names = [c["name"] for c in json.loads(run("collections", "--json").stdout)]
    assert "archive" not in names and "client_b" in names
    assert (a / "notes.md").exists()
    r = run("collections", "delete", "nope", "--yes")
    assert r.exit_code == 1 and "no collection named 'nope'" in r.output
    r = run("ask", "When does the Falcon contract end?", "--collection", "client_bb")  # a typo
    assert r.exit_code == 1 and "no collection named 'client_bb'" in r.output and "client_b" in r.output
    assert "client_bb" not in [c["name"] for c in json.loads(run("collections", "--json").stdout)]


def test_http_api_serves_every_collection_as_a_model(tmp_path: Path, embedder):
    import httpx
    import openai

    from citeqa.engine import Citeqa
    from tests.conftest import make_settings
    from tests.serving import start

    a = _notes(tmp_path, "client_a", "The Falcon contract ends on 12 March 2024.\n")
    b = _notes(tmp_path, "client_b", "The Falcon contract ends on 30 June 2031.\n")
    with Citeqa(make_settings(tmp_path / "data"), embedder=embedder) as qa:
        qa.collection("client_a").ingest([a])
        qa.collection("client_b").ingest([b])
    server = start(["serve"], tmp_path / "data", tmp_path / "serve.log", CITEQA_GENERATE="never")
    try:
        client = openai.OpenAI(base_url=server.v1, api_key="none", max_retries=0, timeout=120)
        assert [m.id for m in client.models.list().data] == ["docs", "client_a", "client_b"]
        for model, fact, folder in (("client_a", "12 March 2024", a), ("client_b", "30 June 2031", b)):
            resp = client.chat.completions.create(
                model=model, messages=[{"role": "user", "content": "When does the Falcon contract end?"}]
            )
            assert fact in resp.choices[0].message.content
            assert resp.model_extra["citeqa"]["sources"][0]["source"] == str(folder / "notes.md")
        with pytest.raises(openai.NotFoundError) as caught:
            client.chat.completions.create(model="client_c", messages=[{"role": "user", "content": "When?"}])
        assert caught.value.status_code == 404
        error = httpx.post(f"{server.v1}/chat/completions", json={"model": "client_c", "messages": [
            {"role": "user", "content": "When?"}]}, timeout=60).json()["error"]  # fmt: skip
        assert error["code"] == "model_not_found" and error["param"] == "model" and "client_a" in error["message"]
        assert error["type"] == "invalid_request_error" or error["type"] == "not_found_error"
        # Search and the documents follow the collection the same way, as `model` or `collection`.
        for field, name, folder in (("model", "client_a", a), ("collection", "client_b", b)):
            hits = httpx.post(f"{server.v1}/search", json={"query": "Falcon contract", field: name}, timeout=60)
            assert {h["source"] for h in hits.json()["hits"]} == {str(folder / "notes.md")}, hits.text
            listed = httpx.get(f"{server.v1}/documents", params={field: name}, timeout=60)
            assert [d["path"] for d in listed.json()["data"]] == [str(folder / "notes.md")], listed.text
        up = httpx.post(f"{server.v1}/documents", params={"model": "client_a"}, timeout=120,
                        files=[("file", ("memo.md", b"The Heron memo says the budget is 90 euros.\n"))])  # fmt: skip
        assert up.status_code == 200 and up.json()["added"] == 1, up.text
        listed = httpx.get(f"{server.v1}/documents", params={"model": "client_a"}, timeout=60).json()["data"]
        assert len(listed) == 2
        listed_b = httpx.get(f"{server.v1}/documents", params={"model": "client_b"}, timeout=60).json()["data"]
        assert len(listed_b) == 1
        memo = next(d["path"] for d in listed if d["path"].endswith("memo.md"))
        gone = httpx.delete(f"{server.v1}/documents", params={"path": memo, "collection": "client_a"}, timeout=60)
        assert gone.json() == {"removed": [memo]}, gone.text
        for method, url, kw in (
            ("POST", "search", {"json": {"query": "Falcon", "model": "client_c"}}),
            ("GET", "documents", {"params": {"collection": "client_c"}}),
            ("DELETE", "documents", {"params": {"path": memo, "model": "client_c"}}),
        ):
            r = httpx.request(method, f"{server.v1}/{url}", timeout=60, **kw)
            assert r.status_code == 404, r.text
            error = r.json()["error"]
            assert error["code"] == "model_not_found" and "client_a" in error["message"], error
        both = httpx.post(f"{server.v1}/search", json={"query": "Falcon", "model": "client_a", "collection": "client_b"})
        assert both.status_code == 400 and both.json()["error"]["param"] == "collection"
    finally:
        server.stop()


def test_mcp_tools_take_a_collection(tmp_path: Path, embedder):
    import anyio
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    from citeqa.engine import Citeqa
    from tests.conftest import make_settings
    from tests.serving import citeqa_cmd, env

    a = _notes(tmp_path, "client_a", "The Falcon contract ends on 12 March 2024.\n")
    b = _notes(tmp_path, "client_b", "The Falcon contract ends on 30 June 2031.\n")
    with Citeqa(make_settings(tmp_path / "data"), embedder=embedder) as qa:
        qa.collection("client_a").ingest([a])
        qa.collection("client_b").ingest([b])
    cmd = citeqa_cmd("mcp")
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env(tmp_path / "data", CITEQA_GENERATE="never"))

    async def session() -> None:
        async with Client(params, read_timeout_seconds=300) as client:
            listed = await client.call_tool("list_collections", {})
            assert not listed.is_error, listed.content
            names = {c["name"]: c for c in listed.structured_content["collections"]}
            assert names["client_a"]["documents"] == 1 and names["client_b"]["documents"] == 1
            asked = await client.call_tool(
                "ask_documents", {"question": "When does the Falcon contract end?", "collection": "client_b"}
            )
            assert not asked.is_error, asked.content
            assert "30 June 2031" in asked.structured_content["answer"]
            assert asked.structured_content["sources"][0]["source"] == str(b / "notes.md")
            found = await client.call_tool("search_documents", {"query": "Falcon contract", "collection": "client_a"})
            assert found.structured_content["hits"][0]["source"] == str(a / "notes.md")
            docs = await client.call_tool("list_documents", {"collection": "client_a"})
            assert [d["path"] for d in docs.structured_content["documents"]] == [str(a / "notes.md")]
            wrong = await client.call_tool("search_documents", {"query": "Falcon", "collection": "client_c"})
            assert wrong.is_error and "no collection named 'client_c'" in wrong.content[0].text

    anyio.run(session)
