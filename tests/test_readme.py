"""Every code block of the README runs here, as written, so that an example that breaks fails CI.

- ```` ```bash ```` blocks: line by line through the CLI (click's CliRunner, in this process), each
  command expected to exit 0; `export NAME=VALUE` lines set the environment of the lines after.
  Any other command in a runnable block is an error: mark the block instead.
- ```` ```python ```` blocks: as a script in a fresh interpreter.
- ```` ```json ```` blocks are data (an answer's shape, a questions file): each must parse, as one
  JSON document or as JSON Lines.

All run against one temporary data dir, shared by the module, with the sample documents ingested
from `~/papers` of a temporary home (as `make run` ingests sample_docs/), two small collections'
folders in `~/clients/`, and the README's own questions file as `qs.jsonl` in the working directory.
Blocks run in README order, as a reader would run them.

```` ```bash with-server: citeqa serve ```` blocks (the HTTP API's examples) run against a real
`citeqa serve` that the test starts on a free port, over a data dir of its own with the sample
documents, and `127.0.0.1:8000` in the block means that port: the block's `citeqa serve &` line is
that server, its `curl` lines run as written (each must get an HTTP answer below 500; a 4xx is an
example's placeholder path), Python blocks as scripts.

A block that cannot run here says why in its info string, ```` ```bash no-test: why ```` (a server
that runs until stopped, a GPU, a 4 GB model, a Milvus server); ```` ```python tested-by: tests/F.py
```` names the test that runs it (with what it needs, such as a chat model for a LangChain chain).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.cli import cli
from tests import serving
from tests.conftest import REPO, SAMPLE_DOCS

README = REPO / "README.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
CODE = {"bash", "sh", "python"}
DATA = {"json"}
CONTRACTS = {
    "a": "Service agreement with Acme Ltd.\n\nThe contract ends on 31 March 2027. Either party may renew it for a year.\n",
    "b": "Maintenance agreement with Beta GmbH.\n\nThe contract ends on 30 June 2026, unless it is renewed in writing.\n",
}


@dataclass(frozen=True)
class Block:
    line: int
    lang: str
    mark: str  # what follows the language in the info string: "", "no-test: why", "tested-by: tests/F.py ..."
    code: str

    @property
    def id(self) -> str:
        return f"README.md:{self.line}:{self.lang}"


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        lang, _, mark = m.group(1).strip().partition(" ")
        out.append(Block(text.count("\n", 0, m.start()) + 1, lang, mark.strip(), m.group(2)))
    return out


BLOCKS = readme_blocks()
RUNS = [b for b in BLOCKS if b.lang in CODE]


def test_every_block_runs_or_says_why() -> None:
    assert len(RUNS) >= 10  # the scan really finds the README's blocks
    bad = []
    for b in BLOCKS:
        if b.lang in DATA and not b.mark:
            continue
        if b.lang not in CODE:
            bad.append(f"{b.id}: a code block needs a language (bash, python) or json for data")
        elif b.mark.startswith("no-test:"):
            if len(b.mark.removeprefix("no-test:").strip()) < 10:
                bad.append(f"{b.id}: no-test needs its reason")
        elif b.mark == "with-server: citeqa serve":
            continue
        elif b.mark.startswith("tested-by:"):
            target = REPO / b.mark.removeprefix("tested-by:").split()[0]
            if not target.is_file() or "README" not in target.read_text(encoding="utf-8"):
                bad.append(f"{b.id}: {target} does not exist or does not read the README")
        elif b.mark:
            bad.append(
                f"{b.id}: unknown mark {b.mark!r} (no-test: why, tested-by: tests/F.py, with-server: citeqa serve)"
            )
    assert not bad, bad


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang in DATA], ids=lambda b: b.id)
def test_json_blocks_parse(block: Block) -> None:
    try:
        json.loads(block.code)
    except json.JSONDecodeError:
        for line in block.code.splitlines():
            json.loads(line)  # JSON Lines, then: every line a document


@dataclass
class Place:
    home: Path
    work: Path
    data: Path


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Place:
    root = tmp_path_factory.mktemp("readme")
    home, work = root / "home", root / "work"
    shutil.copytree(SAMPLE_DOCS, home / "papers")
    for name, text in CONTRACTS.items():
        (home / "clients" / name).mkdir(parents=True)
        (home / "clients" / name / "contract.txt").write_text(text, encoding="utf-8")
    work.mkdir()
    questions = next(b.code for b in BLOCKS if b.lang == "json" and '"question"' in b.code.splitlines()[0])
    (work / "qs.jsonl").write_text(questions, encoding="utf-8")
    found = Place(home, work, root / "data")
    with _environment(found):
        done = CliRunner().invoke(cli, ["-q", "ingest", str(home / "papers")])  # what `make run` does first
    assert done.exit_code == 0, done.output
    return found


@pytest.fixture(scope="module")
def api(place: Place) -> Iterator[serving.Server]:
    """`citeqa serve` on a free port over a data dir of its own with the sample documents (as the
    README's `citeqa ingest` would leave it), and the files its upload example sends."""
    data = place.data.parent / "api-data"
    with _environment(Place(place.home, place.work, data)):
        done = CliRunner().invoke(cli, ["-q", "ingest", str(place.home / "papers")])
    assert done.exit_code == 0, done.output
    shutil.copy(SAMPLE_DOCS / "aurora_lake_field_station_2023.pdf", place.work / "report.pdf")
    shutil.copy(SAMPLE_DOCS / "kestrel_k2_handbook.md", place.work / "notes.md")
    server = serving.start(["serve"], data, place.work / "serve.log", HOME=str(place.home))
    yield server
    server.stop()


class _environment:
    """HOME, the data dir and the working directory of `place`, for this process, then restored."""

    def __init__(self, where: Place) -> None:
        self.mp = pytest.MonkeyPatch()
        self.where = where

    def __enter__(self) -> dict[str, str]:
        env = _env(self.where)
        for k, v in env.items():
            self.mp.setenv(k, v)
        self.mp.chdir(self.where.work)
        return env

    def __exit__(self, *exc: object) -> None:
        self.mp.undo()


def _env(where: Place) -> dict[str, str]:
    return {
        "HOME": str(where.home),
        "XDG_DATA_HOME": str(where.home / ".local" / "share"),
        "XDG_CONFIG_HOME": str(where.home / ".config"),
        "CITEQA_DATA_DIR": str(where.data),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }


def _commands(code: str) -> list[list[str]]:
    """The block's commands as argument lists: comments dropped, `\\` continuations joined, a
    quoted argument going on over lines kept whole."""
    out, pending = [], ""
    for line in code.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        try:
            words = shlex.split(pending + line, comments=True)
        except ValueError:  # a quote still open: the command goes on on the next line
            pending += line + "\n"
            continue
        pending = ""
        if words:
            out.append(words)
    assert not pending, f"unfinished command: {pending}"
    return out


def _run_with_server(block: Block, where: Place, server: serving.Server) -> None:
    """The block against `server`: its `citeqa serve &` line is that server; each `curl` runs as
    written, with the README's 127.0.0.1:8000 meaning the server's address."""
    here = server.base.removeprefix("http://")
    for words in _commands(block.code.replace("127.0.0.1:8000", here)):
        if words[:2] == ["citeqa", "serve"] and words[-1] == "&":
            continue
        assert words[0] == "curl", f"{block.id}: `{shlex.join(words)}`: only curl runs beside the server"
        done = subprocess.run(
            [*words, "-o", str(where.work / "curl.out"), "-w", "%{http_code}"],
            cwd=where.work,
            capture_output=True,
            text=True,
            timeout=300,
        )
        status = int(done.stdout.strip() or 0)
        body = (where.work / "curl.out").read_text(errors="replace")[:500]
        assert done.returncode == 0 and 0 < status < 500, (
            f"{block.id}: `{shlex.join(words)}`: {status} {body} {done.stderr}"
        )


def _run_shell(block: Block, where: Place) -> None:
    with _environment(where) as env:
        for words in _commands(block.code):
            if words[0] == "export":
                name, _, value = words[1].partition("=")
                os.environ[name] = os.path.expanduser(value)
                env[name] = os.environ[name]
                continue
            assert words[0] in ("citeqa", ".venv/bin/citeqa"), (
                f"{block.id}: `{shlex.join(words)}` is not a citeqa command: run it through the CLI, "
                "or mark the block ```bash no-test: why"
            )
            args = [os.path.expanduser(w) if w.startswith("~") else w for w in words[1:]]
            done = CliRunner().invoke(cli, args, input="")
            assert done.exit_code == 0, (
                f"{block.id}: `{shlex.join(words)}` exited {done.exit_code}:\n{done.output}"
            )


def _run_python(block: Block, where: Place, server: serving.Server | None = None) -> None:
    script = where.work / f"readme_{block.line}.py"
    code = block.code.replace("127.0.0.1:8000", server.base.removeprefix("http://")) if server else block.code
    script.write_text(code, encoding="utf-8")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CITEQA_") or k == "CITEQA_CACHE_DIR"
    } | _env(where)
    done = subprocess.run(
        [sys.executable, str(script)], cwd=where.work, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{block.id} failed:\n{done.stdout}\n{done.stderr}"


@pytest.mark.parametrize("block", RUNS, ids=lambda b: b.id)
def test_readme_block_runs(block: Block, place: Place, request: pytest.FixtureRequest) -> None:
    if block.mark.startswith("no-test:"):
        pytest.skip(f"{block.id}: {block.mark.removeprefix('no-test:').strip()}")
    if block.mark.startswith("tested-by:"):
        pytest.skip(f"{block.id}: run by {block.mark.removeprefix('tested-by:').strip()}")
    if block.mark.startswith("with-server:"):
        server = request.getfixturevalue("api")
        if block.lang == "python":
            _run_python(block, place, server)
        else:
            _run_with_server(block, place, server)
    elif block.lang == "python":
        _run_python(block, place)
    else:
        _run_shell(block, place)
