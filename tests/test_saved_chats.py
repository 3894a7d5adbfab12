"""Saved chats (app.saved): a real answer saved and read back whole, private files, per user and
collection."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from citeqa.app.chat import Turn, transcript_markdown
from citeqa.app.saved import ChatStore


def test_a_saved_chat_comes_back_whole_and_private(tmp_path: Path, engine):
    folder = tmp_path / "client_a"
    folder.mkdir()
    (folder / "notes.md").write_text("The Falcon contract ends on 12 March 2024. It was signed in Oslo.\n")
    view = engine.collection("client_a")
    view.ingest([folder])
    answer = view.ask("When does the Falcon contract end?", generate=False)
    assert "12 March 2024" in answer.text

    chats = ChatStore(engine.settings.data_dir, None, "client_a")
    chats.save("0123456789abcdef", [Turn("When does the Falcon contract end?", answer, mode="hybrid")])
    again = ChatStore(engine.settings.data_dir, None, "client_a").list()  # as after a restart
    assert [c.title for c in again] == ["When does the Falcon contract end?"]
    back = again[0].turns[0].answer
    assert back == answer  # every field, quotes, files and pages included
    exported = transcript_markdown(list(again[0].turns))
    assert "12 March 2024" in exported and "notes.md" in exported

    path = chats.folder / "0123456789abcdef.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # A chat saved before answers carried their parts (quoted, generated) gets them back.
    data = json.loads(path.read_text())
    for key in ("quoted", "generated"):
        del data["turns"][0]["answer"][key]
    path.write_text(json.dumps(data))
    assert chats.load("0123456789abcdef").turns[0].answer == answer
    assert stat.S_IMODE(chats.folder.stat().st_mode) & 0o077 == 0

    assert ChatStore(engine.settings.data_dir, None, "client_b").list() == []  # per collection
    assert ChatStore(engine.settings.data_dir, "ann@example.org", "client_a").list() == []  # per user

    chats.rename("0123456789abcdef", "Falcon dates")
    assert chats.list()[0].title == "Falcon dates"
    chats.delete("0123456789abcdef")
    assert chats.list() == []
