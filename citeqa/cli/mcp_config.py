"""`citeqa mcp --print-config`: the block an MCP client (Claude Desktop, an IDE) needs to start
`citeqa mcp` itself.

Such a client starts the server in a directory of its own and passes only the environment the
block gives, so everything is spelled out: the command's absolute path, and the data and cache
dirs, absolute (the per-user defaults can differ where the client runs, e.g. without XDG_* set).
Settings that were given by flag, environment or .env go along too; secrets are left out and named
on stderr, to be added by hand.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from pydantic import SecretStr

from citeqa.core.settings import Settings
from citeqa.info import settings_sources


def command() -> list[str]:
    """The absolute command that runs this citeqa: its console script beside this Python (a
    virtualenv's bin/), else this Python running the CLI module."""
    here = Path(sys.executable).parent / "citeqa"
    if here.is_file():
        return [str(here.absolute())]
    found = shutil.which("citeqa")
    if found:
        return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "citeqa.cli"]


def server_env(settings: Settings, flags: Mapping[str, Any] | None = None) -> dict[str, str]:
    env = {
        "CITEQA_DATA_DIR": str(settings.data_dir.absolute()),
        "CITEQA_CACHE_DIR": str(settings.cache_dir.absolute()),
    }
    for name, source in settings_sources(settings, flags).items():
        var = f"CITEQA_{name.upper()}"
        if var in env or source.startswith("default") or source.startswith("the working"):
            continue
        value = getattr(settings, name)
        if value is None:  # set empty: the default
            continue
        if isinstance(value, SecretStr):
            click.echo(f"note: {var} is set but not printed (a secret); add it to \"env\" yourself", err=True)
            continue
        if isinstance(value, Path):
            value = value.absolute()
        elif isinstance(value, tuple):  # CITEQA_STOP and the like: pydantic-settings reads JSON
            import json

            value = json.dumps(list(value))
        env[var] = str(value)
    return env


def client_config(settings: Settings, flags: Mapping[str, Any] | None = None) -> dict:
    """{"mcpServers": {"citeqa": {"command", "args", "env"}}}, as Claude Desktop's
    claude_desktop_config.json and most IDEs' mcp.json take it."""
    cmd = command()
    return {"mcpServers": {"citeqa": {"command": cmd[0], "args": [*cmd[1:], "mcp"], "env": server_env(settings, flags)}}}
