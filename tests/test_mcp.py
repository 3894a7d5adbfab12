"""`citeqa mcp` driven by the official MCP SDK's client: over stdio, as an agent launches it, and
over streamable HTTP with a bearer token."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import httpx
import pytest

from tests.conftest import SAMPLE_DOCS, make_settings
from tests.serving import citeqa_cmd, env, start

AURORA = "aurora_lake_field_station_2023.pdf"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    from citeqa.engine import Citeqa

    data = tmp_path_factory.mktemp("mcp") / "data"
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        assert not qa.ingest([SAMPLE_DOCS]).failed
    return data


def test_stdio_tools_search_and_answer_with_citations(data_dir: Path) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    cmd = citeqa_cmd("mcp")
    params = StdioServerParameters(command=cmd[0], args=cmd[1:], env=env(data_dir))

    async def session() -> None:
        async with Client(params, read_timeout_seconds=300) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == {"search_documents", "ask_documents", "list_documents", "list_collections"}
            for t in tools.values():
                assert t.description and len(t.description) > 60
                assert t.input_schema["type"] == "object" and t.output_schema
            ask = tools["ask_documents"].input_schema
            assert ask["required"] == ["question"] and ask["properties"]["question"]["description"]

            found = await client.call_tool("search_documents", {"query": "maximum depth of the lake", "top_k": 2})
            assert not found.is_error
            hit = found.structured_content["hits"][0]
            assert Path(hit["source"]).name == AURORA and hit["page"] == 2 and "47 metres" in hit["text"]
            assert "47 metres" in found.content[0].text  # agents that read only text see the passage too

            asked = await client.call_tool("ask_documents", {"question": "What is the maximum depth of Aurora Lake?"})
            assert not asked.is_error, asked.content
            answer = asked.structured_content
            assert answer["answer"] and answer["abstained"] is False
            first = answer["sources"][0]
            assert Path(first["source"]).name == AURORA and first["page"] == 2
            for c in answer["citations"]:  # every citation carries its page, quote and support flags
                assert {"source", "page", "quote"} <= c.keys()
            assert all("supported" in s for s in answer["sentences"])

            # a name the documents never mention: the same abstention, and reason, as every edge
            missing = await client.call_tool("ask_documents", {"question": "How long is the warranty on the Osprey O3?"})
            assert not missing.is_error and missing.structured_content["abstained"] is True
            assert missing.structured_content["abstain_reason"] == "subject_not_in_documents"
            assert "do not mention Osprey O3" in missing.structured_content["answer"]

            listed = await client.call_tool("list_documents", {})
            names = {Path(d["path"]).name for d in listed.structured_content["documents"]}
            assert names == {p.name for p in SAMPLE_DOCS.iterdir()}

            bad = await client.call_tool("search_documents", {"query": ""})
            assert bad.is_error and "query" in bad.content[0].text

    anyio.run(session)



def test_a_stopped_model_server_is_an_error_that_still_quotes_the_documents(data_dir: Path) -> None:
    from mcp import Client
    from mcp.client.stdio import StdioServerParameters

    from tests.llm_server import free_port

    cmd = citeqa_cmd("mcp")
    dead = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    params = StdioServerParameters(
        command=cmd[0], args=cmd[1:], env=env(data_dir, CITEQA_LLM_URL=dead, CITEQA_GENERATE="always")
    )

    async def session() -> None:
        async with Client(params, read_timeout_seconds=300) as client:
            asked = await client.call_tool("ask_documents", {"question": "What is the maximum depth of Aurora Lake?"})
            text = asked.content[0].text
            assert asked.is_error and "cannot reach the chat model server" in text and "CITEQA_LLM_URL" in text
            assert "47 metres" in text and f"{AURORA}, p. 2" in text  # what the documents say, still given

    anyio.run(session)

def test_http_transport_needs_the_token(data_dir: Path, tmp_path: Path) -> None:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    key = "mcp-test-token"
    server = start(["mcp", "--http"], data_dir, tmp_path / "mcp.log", ready_path="/mcp", api_key=key)
    try:
        r = httpx.post(f"{server.base}/mcp", json={}, timeout=30)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"

        async def session() -> list[str]:
            async with (
                httpx2.AsyncClient(headers=server.headers, timeout=120) as http,
                Client(streamable_http_client(f"{server.base}/mcp", http_client=http)) as client,
            ):
                listed = await client.call_tool("list_documents", {})
                return [d["path"] for d in json.loads(listed.content[0].text)["documents"]]

        assert {Path(p).name for p in anyio.run(session)} == {p.name for p in SAMPLE_DOCS.iterdir()}
    finally:
        server.stop()
