"""`citeqa mcp --print-config`: the block an MCP client is given starts a server that answers, from
another working directory and with nothing in its environment but what the block says; and a
server over an empty index says so in its tools' errors."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import anyio
import pytest

from citeqa.core import places
from tests.conftest import REPO, SAMPLE_DOCS, make_settings
from tests.serving import citeqa_cmd, env

AURORA = "aurora_lake_field_station_2023.pdf"


def printed_block(data_dir: Path) -> dict:
    r = subprocess.run(
        [*citeqa_cmd("mcp", "--print-config")], capture_output=True, text=True, env=env(data_dir), cwd=REPO, timeout=120
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["mcpServers"]["citeqa"]


def exactly_as_printed(block: dict, cwd: Path):
    """The block's command, started by the SDK client in `cwd` with only the block's variables
    (`env -i`: the SDK would otherwise add HOME, PATH and the like)."""
    from mcp.client.stdio import StdioServerParameters

    assets = [f"{k}={v}" for k, v in block["env"].items()]
    return StdioServerParameters(command="/usr/bin/env", args=["-i", *assets, block["command"], *block["args"]], cwd=cwd, env={})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    from citeqa.engine import Citeqa

    data = tmp_path_factory.mktemp("mcp-config") / "data"
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        assert not qa.ingest([SAMPLE_DOCS]).failed
    return data


def test_the_printed_block_starts_a_server_that_answers_from_anywhere(data_dir: Path, tmp_path: Path) -> None:
    from mcp import Client

    block = printed_block(data_dir)
    assert Path(block["command"]).is_absolute() and os.access(block["command"], os.X_OK)
    assert block["args"][-1] == "mcp"
    assert block["env"]["CITEQA_DATA_DIR"] == str(data_dir)
    elsewhere = tmp_path / "client"
    elsewhere.mkdir()

    async def session() -> None:
        async with Client(exactly_as_printed(block, elsewhere), read_timeout_seconds=300) as client:
            asked = await client.call_tool("ask_documents", {"question": "What is the maximum depth of Aurora Lake?"})
            assert not asked.is_error, asked.content
            answer = asked.structured_content
            assert answer["abstained"] is False and "47 metres" in answer["answer"]
            assert Path(answer["citations"][0]["source"]).name == AURORA
            listed = await client.call_tool("list_documents", {})
            assert len(listed.structured_content["documents"]) == 3

    anyio.run(session)
    assert list(elsewhere.iterdir()) == []  # no .citeqa left where the client started it


def test_a_server_over_an_empty_index_says_so_in_every_tool(tmp_path: Path) -> None:
    from mcp import Client

    data = tmp_path / "empty"
    block = printed_block(data)
    elsewhere = tmp_path / "client"
    elsewhere.mkdir()

    async def session() -> None:
        async with Client(exactly_as_printed(block, elsewhere), read_timeout_seconds=300) as client:
            for tool, args in [
                ("ask_documents", {"question": "What is the maximum depth of Aurora Lake?"}),
                ("search_documents", {"query": "depth"}),
                ("list_documents", {}),
            ]:
                got = await client.call_tool(tool, args)
                text = got.content[0].text
                assert got.is_error, (tool, text)
                named = [f"No documents are indexed in {where} (collection docs)" for where in (data, places.shown(data))]
                assert any(n in text for n in named), (tool, text)
                assert "citeqa ingest PATH" in text and "do not contain" not in text

    anyio.run(session)
    assert not data.exists() and list(elsewhere.iterdir()) == []
