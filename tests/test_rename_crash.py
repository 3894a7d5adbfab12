"""`citeqa collections rename OLD NEW` killed (SIGKILL) at every step: the next citeqa to open the
data dir finishes it, and collection NEW is whole: every document, its passages, its uploaded
files, records and saved chats; the other collections untouched (citeqa.retrieval.renaming)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from citeqa.engine import Citeqa
from citeqa.retrieval import renaming
from tests.conftest import REPO, make_settings
from tests.serving import env

# Renames a to b in a child process that SIGKILLs itself at the step named by argv[2]; "document":
# after the first uploaded document's manifest row is written under its new path, before the old
# row is removed (the step where both rows exist).
KILLED_RENAME = """
import os, signal, sys
from pathlib import Path
from citeqa.engine import Citeqa
from citeqa.retrieval import renaming
from citeqa.retrieval.store import Store
from tests.conftest import make_settings

data, point = Path(sys.argv[1]), sys.argv[2]
armed = []

def step(name):
    if name == point:
        os.kill(os.getpid(), signal.SIGKILL)
    if point == "document" and name == "uploads":
        armed.append(True)

renaming.after_step = step
write = Store._write_manifest

def write_then_die(self, rows):
    write(self, rows)
    if armed:
        os.kill(os.getpid(), signal.SIGKILL)

Store._write_manifest = write_then_die
with Citeqa(make_settings(data)) as qa:
    qa.rename_collection("a", "b")
print("renamed, not killed")
"""


@pytest.mark.parametrize("point", ["journal", "chunks", "manifest", "uploads", "document", "sources", "records"])
def test_rename_killed_at_any_step_loses_nothing(tmp_path: Path, embedder, point: str):
    data, folder = tmp_path / "data", tmp_path / "notes"
    folder.mkdir()
    (folder / "notes.md").write_text("The Falcon contract ends on 12 March 2024.\n")
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        a = qa.collection("a")
        a.ingest([folder])
        a.ingest_uploads([("memo.md", b"The Heron memo says the budget is 90 euros.\n"),
                          ("plan.md", b"The Osprey plan starts in the spring of 2027.\n")])  # fmt: skip
        qa.collection("c").ingest_uploads([("memo.md", b"The Heron memo for c says 5 euros.\n")])
        old_uploads = a.settings.uploads_dir
    chat = data / "chats" / "local" / "a" / "0123456789ab.json"  # a saved web chat (citeqa.app.saved)
    chat.parent.mkdir(parents=True)
    chat.write_text('{"title": "Falcon"}')
    assert (data / "a.roots.txt").exists()

    r = subprocess.run([sys.executable, "-c", KILLED_RENAME, str(data), point], cwd=REPO, env=env(data),
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert r.returncode == -9, f"not killed at {point}: {r.returncode}\n{r.stdout}\n{r.stderr}"
    assert (data / renaming.JOURNAL).exists()

    with Citeqa(make_settings(data), embedder=embedder) as qa:
        assert qa.collection_names() == ["b", "c", "docs"]  # finished: NEW, and no OLD beside it
        assert not (data / renaming.JOURNAL).exists()
        b = qa.collection("b")
        uploads = b.settings.uploads_dir
        want = {str(folder / "notes.md"), str(uploads / "memo.md"), str(uploads / "plan.md")}
        assert {d.path for d in b.documents()} == want
        assert b.store.count_documents() == 3 and b.store.count_chunks() == 3  # no row twice, none lost
        assert all(b.passages(p) for p in want)  # each document's passages under its new path
        assert (uploads / "memo.md").read_bytes().startswith(b"The Heron memo says") and not old_uploads.exists()
        assert b.search("Heron memo budget", top_k=1)[0].source == str(uploads / "memo.md")
        assert (data / "b.roots.txt").exists() and not (data / "a.roots.txt").exists()
        assert (data / "chats" / "local" / "b" / chat.name).read_text() == '{"title": "Falcon"}'
        assert not chat.parent.exists()
        c = qa.collection("c")
        assert [Path(d.path).name for d in c.documents()] == ["memo.md"]
        assert (c.settings.uploads_dir / "memo.md").exists()
        # and b is a collection like any other: an unchanged folder is found unchanged
        assert b.ingest([folder]).count("unchanged") == 1
