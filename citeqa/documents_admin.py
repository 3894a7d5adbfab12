"""The documents of one engine's collection: listing, passages, removal, and whether there is an
index at all. A part of `citeqa.engine.Citeqa` (which wires the store and the ingestor it uses),
kept apart so that the engine module holds the wiring and the questions' way through it."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from citeqa.core import places
from citeqa.core.errors import NoDocuments, Refused
from citeqa.core.files import absolute_path
from citeqa.core.records import read_lines
from citeqa.core.types import DocumentRecord, Hit

if TYPE_CHECKING:
    from citeqa.core.settings import Settings
    from citeqa.ingest.pipeline import Ingestor
    from citeqa.retrieval.embedder import Embedder
    from citeqa.retrieval.store import Store


class DocumentsAdmin:
    """`Citeqa`'s document methods; what they use is `Citeqa`'s (declared here for the type checker)."""

    if TYPE_CHECKING:
        settings: Settings
        _store: Store | None
        _writes: threading.RLock

        @property
        def store(self) -> Store: ...

        @property
        def ingestor(self) -> Ingestor: ...

        @property
        def embedder(self) -> Embedder: ...

        def index_missing(self) -> bool: ...

    def documents(self) -> list[DocumentRecord]:
        return [] if self.index_missing() else self.store.documents()

    def open_index(self) -> None:
        """Open the index now, if there is one. A long-running edge (the web app, `citeqa mcp`) calls
        it at start: holding the data dir, it then serves the index to the other citeqa processes
        there at once (citeqa.retrieval.shared), instead of making them wait for its first request."""
        if not self.index_missing():
            self.store  # noqa: B018 - opening it starts serving

    def require_documents(self) -> None:
        """Raise NoDocuments when nothing is indexed: a question then has no answer to look for,
        and "the documents do not contain the answer" would mislead. Creates nothing."""
        if self.index_missing() or self.store.count_chunks() == 0:
            s = self.settings
            where = places.shown(s.data_dir.absolute()) if s.embedded else s.resolved_milvus_uri()
            raise NoDocuments(where, s.collection)

    def passages(self, path: str | Path) -> list[Hit]:
        """The indexed passages of the document at `path`, in reading order (page, then position);
        `score` is 0: they were not searched for."""
        return self.store.passages(str(path))

    def ingested_roots(self) -> list[str]:
        """The files and folders documents were ingested from (as given to `ingest`, made absolute),
        so that an interface can name a document by its path inside the folder it came from. Uploads
        are not listed (they live in the uploads folder). Empty for an index ingested before this
        was recorded."""
        return read_lines(self._roots_record())

    def _roots_record(self) -> Path:
        return self.settings.data_dir / f"{self.settings.collection}.roots.txt"

    def remove(self, paths: Sequence[str | Path], *, recursive: bool = False) -> list[str]:
        """Remove documents by file path, and with `recursive` every document under a folder; files
        in the uploads folder are deleted too (they were kept only to be indexed). A folder without
        `recursive`, the filesystem root and the data dir are refused (Refused), before anything
        is removed: one mistyped path must not empty the library."""
        from citeqa.ingest.uploads import delete_stored

        with self._writes:
            for p in paths:
                self._check_removal(p, recursive=recursive)
            removed = self.ingestor.remove(paths)
        for p in removed:
            delete_stored(self.settings.uploads_dir, p)
        return removed

    def _check_removal(self, path: str | Path, *, recursive: bool) -> None:
        target = absolute_path(path)
        if os.path.dirname(target) == target:  # "/" (or a drive's root): every document there is
            raise Refused(f"refusing to remove every document under {target}: name the folders or files to remove")
        if target == absolute_path(self.settings.data_dir):
            raise Refused(
                f"refusing to remove the data dir {target} (CITEQA_DATA_DIR): name the documents to remove, "
                "or delete the data dir itself to start over"
            )
        if recursive:
            return
        under = self.store.documents(under=[target])
        if under:
            raise Refused(
                f"{target} is a folder holding {len(under)} document(s); removing them all must be asked for "
                "explicitly (HTTP API: recursive=true; CLI: citeqa docs remove --yes)"
            )

    def stats(self) -> dict:
        docs = self.store.documents()
        return {
            "documents": len(docs),
            "pages": sum(d.pages for d in docs),
            "chunks": self.store.count_chunks(),
            "collection": self.settings.collection,
            "milvus": self.store.uri,
            "embedder": self.embedder.name,
        }

