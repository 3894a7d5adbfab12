"""Every message that sends users somewhere sends them to something that exists: each `citeqa ...`
command it names is a real command, and each CITEQA_* variable is a real setting."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click

from citeqa.cli import cli
from citeqa.core.settings import Settings
from tests.conftest import REPO

PRODUCT = ["citeqa", "app", "ingest", "retrieval", "answer"]
# How the product names a command to run: in backticks, or after "run", "with:", "use", "see"; and
# in the README's shell examples, at the start of a line.
_ARGS = r"citeqa ((?:-{1,2}[\w-]+(?:[ =]\S+)? )*)([a-z][\w-]*)(?: ([a-z][\w-]*))?"
COMMAND = re.compile(r"(?:`|\b(?:run|with:?|use|see|try)\s+)" + _ARGS)
SHELL_LINE = re.compile(r"^[ \t]*(?:\.venv/bin/)?" + _ARGS, re.MULTILINE)
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)  # ```bash no-test: why
SETTING = re.compile(r"\bCITEQA_[A-Z][A-Z0-9_]*[A-Z0-9]\b")


def _strings(path: Path) -> list[str]:
    """The string constants of a module, f-strings' literal parts included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _texts() -> list[tuple[str, str]]:
    out = [(str(p.relative_to(REPO)), s) for d in PRODUCT for p in (REPO / d).rglob("*.py") for s in _strings(p)]
    out.append(("README.md", (REPO / "README.md").read_text(encoding="utf-8")))
    return out


def _env_names_outside_settings() -> set[str]:
    """Variables read by the build scripts and the Makefile rather than by Settings."""
    text = (REPO / "Makefile").read_text() + "".join(p.read_text() for p in (REPO / "scripts").glob("*.sh"))
    return set(SETTING.findall(text))


def _commands() -> list[tuple[str, re.Match[str]]]:
    found = [(where, m) for where, text in _texts() for m in COMMAND.finditer(text)]
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shell = [block for lang, block in FENCE.findall(readme) if lang in ("", "bash", "sh", "console")]
    found += [("README.md", m) for block in shell for m in SHELL_LINE.finditer(block)]
    return found


def test_named_commands_exist() -> None:
    named = _commands()
    bad = [f"{where}: citeqa {m.group(2)}" for where, m in named if m.group(2) not in cli.commands]
    # A group's second word, when it is a word a group could take, must be one of its subcommands.
    for where, m in named:
        group, sub = cli.commands.get(m.group(2)), m.group(3)
        if isinstance(group, click.Group) and sub in ("remove", "pull", "add", "list", "show") and sub not in group.commands:
            bad.append(f"{where}: citeqa {m.group(2)} {sub}")
    assert len(named) > 20  # the scan really reads the messages
    assert not bad, f"messages name commands that do not exist: {bad}"


def test_named_settings_exist() -> None:
    fields = {f"CITEQA_{name.upper()}" for name in Settings.model_fields}
    allowed = fields | _env_names_outside_settings()
    bad = sorted({f"{where}: {name}" for where, text in _texts() for name in SETTING.findall(text) if name not in allowed})
    assert len(fields) > 20
    assert not bad, f"messages name settings that do not exist: {bad}"


def test_every_setting_is_documented() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [f"CITEQA_{name.upper()}" for name in Settings.model_fields if f"`CITEQA_{name.upper()}`" not in readme]
    assert not missing, f"settings the README's configuration table does not list: {missing}"
