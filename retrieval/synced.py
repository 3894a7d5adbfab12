"""The state the last complete ingest left in an embedded data dir, readable without Milvus.

Re-running an ingest over an unchanged folder is the nightly case, and its cost should be
hashing the files, not starting milvus-lite and importing pymilvus and a model (about 3 s, most
of such a run). The Store writes `<collection>.synced.json` from its manifest after an ingest
that left nothing pending, and deletes it before any change to the manifest, so the file exists
only while it matches the index exactly. A killed run therefore always finds it gone and takes
the full path, which repairs what the run left.

Only for embedded data dirs: a Milvus server may be changed by other machines.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from citeqa.types import DocumentRecord

_FORMAT = 1


def file_for(data_dir: Path, collection: str) -> Path:
    return data_dir / f"{collection}.synced.json"


def write(path: Path, embed_name: str, docs: Iterable[DocumentRecord]) -> None:
    """Atomically record `docs` (committed documents only) as the index's whole content."""
    data = {
        "format": _FORMAT,
        "embed": embed_name,
        "docs": {d.path: [d.content_hash, d.pages, d.chunks] for d in docs},
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".synced-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def invalidate(path: Path) -> None:
    path.unlink(missing_ok=True)


def read(path: Path, embed_name: str) -> dict[str, tuple[str, int, int]] | None:
    """{path: (content hash, pages, chunks)} as recorded, or None if absent, unreadable or made
    with another embedding model."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != _FORMAT or data.get("embed") != embed_name:
            return None
        return {p: (str(h), int(pages), int(chunks)) for p, (h, pages, chunks) in data["docs"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
