"""ingest.walk on real folder trees: order, hidden entries, links, loops, and what cannot be read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from citeqa.ingest.walk import Candidate, discover
from tests.conftest import unprivileged

REPO = Path(__file__).resolve().parents[1]


def _touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"text of {name}\n")


def _found(*paths: Path) -> list[tuple[str, str | None, bool]]:
    base = paths[0] if paths[0].is_dir() else paths[0].parent
    out = []
    for c in discover(paths):
        assert c.path.is_absolute()
        out.append((os.path.relpath(c.path, base), c.problem, c.skipped))
    return out


def test_folder_recurses_in_name_order_ignoring_hidden(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "b.txt",
        "a.pdf",
        "c.MD",
        "d.markdown",
        "e.xlsx",
        "README",
        ".hidden.txt",
        ".git/config.md",
        "sub/z.txt",
        "sub/.secret/x.txt",
        "sub/inner/y.md",
        "zz.txt",
    )
    assert _found(tmp_path) == [
        ("README", "unsupported file type (no extension)", True),
        ("a.pdf", None, False),
        ("b.txt", None, False),
        ("c.MD", None, False),
        ("d.markdown", None, False),
        ("e.xlsx", "unsupported file type .xlsx", True),
        ("sub/inner/y.md", None, False),
        ("sub/z.txt", None, False),
        ("zz.txt", None, False),
    ]


def test_explicit_files_are_always_considered(tmp_path: Path) -> None:
    _touch(tmp_path, ".notes.md", "photo.jpg", ".cfg/inside.txt", ".cfg/.deeper.txt")
    found = _found(tmp_path / ".notes.md", tmp_path / "photo.jpg", tmp_path / ".cfg")
    assert found == [
        (".notes.md", None, False),
        ("photo.jpg", "unsupported file type .jpg", True),
        (".cfg/inside.txt", None, False),
    ]


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path, "docs/a.txt")
    monkeypatch.chdir(tmp_path)
    assert list(discover([Path("docs")])) == [Candidate(tmp_path / "docs" / "a.txt")]


def test_missing_and_dangling(tmp_path: Path) -> None:
    _touch(tmp_path, "ok.txt")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "nowhere.txt")
    assert _found(tmp_path, tmp_path / "absent.pdf") == [
        ("dangling.txt", "no such file or directory", False),
        ("ok.txt", None, False),
        ("absent.pdf", "no such file or directory", False),
    ]


def test_symlink_loops_end(tmp_path: Path) -> None:
    _touch(tmp_path, "a/doc.txt")
    (tmp_path / "a" / "up").symlink_to(tmp_path)  # a/up → root: an ancestor
    (tmp_path / "a" / "self.txt").symlink_to(tmp_path / "a" / "self.txt")  # ELOOP on stat
    (tmp_path / "ping.md").symlink_to(tmp_path / "pong.md")
    (tmp_path / "pong.md").symlink_to(tmp_path / "ping.md")
    assert _found(tmp_path) == [
        ("a/doc.txt", None, False),
        ("a/self.txt", "symlink loop", False),
        ("a/up", "symlink loop", False),
        ("ping.md", "symlink loop", False),
        ("pong.md", "symlink loop", False),
    ]


def test_each_real_file_once(tmp_path: Path) -> None:
    _touch(tmp_path, "docs/a.txt", "docs/b.txt", "other/c.txt")
    (tmp_path / "docs" / "alias.txt").symlink_to(tmp_path / "docs" / "b.txt")  # sorts before b.txt
    (tmp_path / "docs" / "mirror").symlink_to(tmp_path / "other")  # not a loop: a second way in
    (tmp_path / "other" / "hard.txt").hardlink_to(tmp_path / "docs" / "a.txt")
    found = _found(tmp_path, tmp_path / "docs", tmp_path / "docs" / "a.txt", tmp_path / "other")
    assert found == [
        ("docs/a.txt", None, False),
        ("docs/alias.txt", None, False),  # the link's own name is kept; b.txt is the same file
        ("docs/mirror/c.txt", None, False),
    ]


def test_fifo_is_not_read(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    # Would block forever if discovery opened it.
    assert _found(tmp_path) == [("pipe.txt", "not a regular file", True)]


def test_unreadable_folder(tmp_path: Path) -> None:
    _touch(tmp_path, "locked/inside.txt", "open.txt")
    (tmp_path / "locked").chmod(0o000)
    code = (
        "from pathlib import Path\n"
        "import citeqa  # keeps this test about permissions; the import order has its own test\n"
        "from ingest.walk import discover\n"
        f"for c in discover([Path({str(tmp_path)!r})]):\n"
        "    print(c.path.name, c.problem, c.skipped, sep='|')\n"
    )
    cmd = [*unprivileged(), sys.executable, "-c", code]
    try:
        out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["locked|permission denied|False", "open.txt|None|False"]


@pytest.mark.parametrize("module", ["citeqa.ingest.walk", "citeqa.ingest.loaders", "citeqa.ingest.chunker"])
def test_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    # Parser worker processes are spawned, so they import ingest modules before anything else.
    out = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr.strip().splitlines()[-1]
