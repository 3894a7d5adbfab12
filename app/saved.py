"""Saved chats: each conversation of the web chat kept in the data dir, per collection and per
signed-in user, so that a restart (or another browser) finds it again.

`<data dir>/chats/<user>/<collection>/<id>.json`, written whole (temporary file, then rename) and
private (0600 files, 0700 folders) like the rest of the data dir. The user is the Streamlit login's
e-mail (its [auth] login); with no login (or the one shared CITEQA_APP_PASSWORD) it is "local".
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from citeqa.answer.answerer import evidence_text
from citeqa.app.chat import Turn
from citeqa.core.types import Answer, Citation, Evidence, Hit, Sentence, Timings

_ID = re.compile(r"[0-9a-f]{10,32}")


@dataclass(frozen=True)
class SavedChat:
    id: str
    title: str
    updated: float
    turns: tuple[Turn, ...]


def user_folder(user: str | None) -> str:
    """A folder name for a user: readable for "local", a digest for an e-mail (no path tricks)."""
    if not user:
        return "local"
    return "u-" + hashlib.sha256(user.encode("utf-8")).hexdigest()[:24]


class ChatStore:
    def __init__(self, data_dir: Path, user: str | None, collection: str) -> None:
        self.folder = data_dir / "chats" / user_folder(user) / collection

    def _path(self, chat_id: str) -> Path:
        if not _ID.fullmatch(chat_id):
            raise ValueError(f"not a chat id: {chat_id!r}")
        return self.folder / f"{chat_id}.json"

    def save(self, chat_id: str, turns: list[Turn], title: str | None = None) -> None:
        old = self.load(chat_id)
        data = {
            "title": title or (old.title if old else "") or _title(turns),
            "updated": time.time(),
            "turns": [asdict(t) for t in turns],
        }
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".chat-")  # mkstemp: 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self._path(chat_id))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, chat_id: str) -> SavedChat | None:
        try:
            data = json.loads(self._path(chat_id).read_text(encoding="utf-8"))
            return SavedChat(chat_id, str(data["title"]), float(data["updated"]), tuple(_turn(t) for t in data["turns"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def list(self) -> list[SavedChat]:
        """The saved chats, the latest first (their turns included: chats are small)."""
        if not self.folder.is_dir():
            return []
        found = (self.load(p.stem) for p in self.folder.glob("*.json") if _ID.fullmatch(p.stem))
        return sorted((c for c in found if c is not None), key=lambda c: -c.updated)

    def rename(self, chat_id: str, title: str) -> None:
        chat = self.load(chat_id)
        if chat is not None and title.strip():
            self.save(chat_id, list(chat.turns), title=title.strip()[:200])

    def delete(self, chat_id: str) -> None:
        self._path(chat_id).unlink(missing_ok=True)


def _title(turns: list[Turn]) -> str:
    first = turns[0].question.strip() if turns else "New chat"
    return first if len(first) <= 60 else first[:57] + "…"


def _hit(d: dict) -> Hit:
    return Hit(**d)


def _answer(d: dict) -> Answer:
    d = dict(d)
    d["sources"] = tuple(_hit(h) for h in d["sources"])
    d["citations"] = tuple(Citation(c["n"], _hit(c["hit"]), c.get("quote", "")) for c in d["citations"])
    d["sentences"] = tuple(Sentence(**{**s, "citations": tuple(s["citations"])}) for s in d["sentences"])
    d["evidence"] = tuple(Evidence(**{**e, "hit": _hit(e["hit"])}) for e in d["evidence"])
    d["timings"] = Timings(**d["timings"])
    # Chats saved before the answer carried its parts: made again from the evidence and sentences.
    if "quoted" not in d and not d.get("abstained") and d["evidence"]:
        d["quoted"] = evidence_text(d["evidence"])
    if "generated" not in d:
        d["generated"] = " ".join(s.text for s in d["sentences"] if s.supported)
    return Answer(**d)


def _turn(d: dict) -> Turn:
    d = dict(d)
    d["answer"] = _answer(d["answer"]) if d.get("answer") else None
    return Turn(**d)
