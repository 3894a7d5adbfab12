"""Collection names and what a data dir keeps per collection.

A collection is one body of documents (a thesis, a client's contracts): two Milvus collections
(chunks, and `<name>_manifest`), a few small records in the data dir and an uploads folder. Its
name becomes a Milvus collection name and part of file names, so it is checked here, once, at the
edges (settings, CLI arguments, HTTP `model`, MCP `collection`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from citeqa.core.errors import ConfigError

DEFAULT = "docs"
MAX_NAME = 64
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_RESERVED_SUFFIX = "_manifest"  # every collection's manifest is named so
# The records `<name>.<kind>` the data dir keeps per collection (see retrieval.datadir,
# citeqa.core.records, citeqa.core.syncstate): moved on rename, deleted on delete.
RECORD_SUFFIXES = (".synced.json", ".roots.txt", ".reindex.txt", ".sync.json", ".watch.txt")


class BadCollectionName(ConfigError):
    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"invalid collection name {name!r}: {why}")
        self.name = name


class UnknownCollection(ConfigError):
    def __init__(self, name: str, known: list[str]) -> None:
        have = ", ".join(known) if known else "none yet"
        super().__init__(
            f"no collection named {name!r} (collections: {have}); see `citeqa collections`, "
            f"or create it with `citeqa collections create {name}`"
        )
        self.name = name


def check_name(name: str) -> str:
    """`name` if it can name a collection, else BadCollectionName saying what is allowed.

    Letters, digits and underscores, starting with a letter: Milvus allows no more in a collection
    name, and the name is also part of file names in the data dir."""
    if not isinstance(name, str) or not name:
        raise BadCollectionName(str(name), "a name is needed")
    if len(name) > MAX_NAME:
        raise BadCollectionName(name, f"at most {MAX_NAME} characters")
    if not _NAME.fullmatch(name):
        raise BadCollectionName(name, "use letters, digits and underscores, starting with a letter (e.g. client_a)")
    if name.endswith(_RESERVED_SUFFIX):
        raise BadCollectionName(name, f"names ending in {_RESERVED_SUFFIX} are citeqa's own")
    return name


def uploads_dir(data_dir: Path, name: str) -> Path:
    """Where the files uploaded to collection `name` are kept. The default collection keeps the
    folder it always had; the others get one each beside it (never inside it: removing one
    collection's uploads must not touch another's)."""
    return data_dir / "uploads" if name == DEFAULT else data_dir / "collection-uploads" / name


@dataclass(frozen=True)
class CollectionInfo:
    """One collection as `citeqa collections` lists it; `last_sync` is a Unix time, or None
    before the first ingest."""

    name: str
    documents: int
    passages: int
    last_sync: float | None

    def to_dict(self) -> dict:
        return {"name": self.name, "documents": self.documents, "passages": self.passages, "last_sync": self.last_sync}
