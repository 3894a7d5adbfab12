"""The Milvus index: chunks and the document manifest, written crash-safely and searched in batches.

The same code serves embedded milvus-lite, a Milvus server and Zilliz Cloud; only the URI
differs. The manifest lives in Milvus too, so sync state travels with the index.

`write_documents` is the only way documents get in, and its order of writes is what makes a killed
run repairable. For a batch of documents, each step is one call for the whole batch, and every
document goes through the same states:
1. the manifest rows get `pending_hash` = the new version's hash;
2. the new versions' chunks are upserted (ids derive from content, so a retry writes the same
   rows again rather than duplicates);
3. the manifest rows are committed (`content_hash` = new hash); a row that replaces an older
   version keeps `pending_hash` equal to it until
4. the chunks of any other version of that file are deleted, and it is cleared.
`recover()` undoes whatever a killed run left between 1 and 3 and finishes 4. Batching matters at
scale: four calls per small file were a third of a 2,000-file ingest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from citeqa.core.errors import StoreError
from citeqa.core.settings import Settings
from citeqa.retrieval import schema
from citeqa.retrieval.connection import Connection, connect
from citeqa.retrieval.datadir import EmbeddedDataDir
from citeqa.retrieval.rows import DocumentVersion, ManifestRow, like_prefix, quote
from citeqa.retrieval.store_reads import MANIFEST_BATCH, StoreReads

log = logging.getLogger(__name__)

_UPSERT_ROWS = 1_000  # chunk rows per upsert call: a long PDF's chunks go in several


class Store(StoreReads):
    """`datadir`: the embedded data dir whose index this is (None for a Milvus server). It must be
    held, or attached to the process serving it (citeqa.retrieval.shared), while the store is
    open; `Store.open` does that when the caller has not."""

    def __init__(
        self,
        uri: str,
        *,
        collection: str,
        embed_name: str,
        dim: int,
        token: str | None = None,
        datadir: EmbeddedDataDir | None = None,
        check: bool = True,
        client: Any = None,
        renames: Path | None = None,
    ) -> None:

        self.uri = uri
        self.collection = collection
        self.manifest = f"{collection}_manifest"
        self.embed_name = embed_name
        self.dim = dim
        self.datadir = datadir
        # A sibling (another collection of the same index) borrows its connection: closing it must
        # not close the connection, nor stop the milvus-lite server, the others still use.
        self._owns_client = client is None
        self._owns_lock = self._owns_client and datadir is not None and not datadir.locked
        self._synced_valid = datadir is not None
        if self._owns_lock:
            datadir.acquire()  # type: ignore[union-attr]
        if client is not None:
            self._conn: Connection = client
            self._ensure_collections(check)
            return
        try:
            self._conn = connect(uri, token, datadir)
        except Exception:
            self._release()
            raise
        try:
            if renames is not None:
                # A rename a killed process left is finished before any collection is opened (or
                # made: NEW must not be created empty beside OLD).
                from citeqa.retrieval.renaming import finish_pending

                finish_pending(self, renames)
            self._ensure_collections(check)
        except Exception:
            self.close()
            raise

    @property
    def location(self) -> str:
        """Where the index is, as messages name it: the data dir, or the server's URI."""
        from citeqa.core import places

        return places.shown(self.datadir.path.absolute()) if self.datadir is not None else self.uri

    @classmethod
    def open(
        cls, settings: Settings, *, embed_name: str, dim: int, datadir: EmbeddedDataDir | None = None, check: bool = True
    ) -> Store:
        if settings.embedded and datadir is None:
            datadir = EmbeddedDataDir(settings.data_dir, settings.collection)
        token = settings.milvus_token.get_secret_value() if settings.milvus_token else None
        return cls(
            settings.resolved_milvus_uri(),
            collection=settings.collection,
            embed_name=embed_name,
            dim=dim,
            token=token,
            datadir=datadir if settings.embedded else None,
            check=check,
            renames=settings.data_dir,
        )

    @property
    def client(self) -> Any:
        """The MilvusClient of this store's connection (a new one after the serving process changed)."""
        return self._conn.client

    def sibling(self, collection: str, *, check: bool = True) -> Store:
        """The store of another collection of this index, on this store's connection (created if
        missing). Close it before this one; closing it leaves the connection open."""
        datadir = self.datadir.view(collection) if self.datadir is not None else None
        return Store(
            self.uri, collection=collection, embed_name=self.embed_name, dim=self.dim,
            datadir=datadir, check=check, client=self._conn,
        )  # fmt: skip

    def collection_names(self) -> list[str]:
        """The citeqa collections of this index (a chunk collection with its manifest), sorted."""
        names = set(self.call(self.client.list_collections))
        return sorted(n for n in names if f"{n}_manifest" in names)

    def move_sources(self, old_prefix: str, new_prefix: str) -> int:
        """Rename the documents whose paths start with `old_prefix` (a collection's uploads folder,
        moved when the collection is renamed) to start with `new_prefix`; returns how many. Per
        document: the chunks are rewritten under the new path, then the manifest row is added under
        it and the old one removed. Run again after a crash, it moves what is left
        (citeqa.retrieval.renaming)."""
        fields = ["id", "text", "source", "page", "location", "chunk_index", "char_start", "char_end", "doc_hash", "vector"]
        rows = list(self._iter_manifest(f"path like {quote(like_prefix(old_prefix))}"))
        for row in rows:
            new_path = new_prefix + row.path[len(old_prefix) :]
            chunks = list(self._query_all(self.collection, f"source == {quote(row.path)}", fields))
            for c in chunks:
                c["source"] = new_path
            for i in range(0, len(chunks), _UPSERT_ROWS):
                self.call(self.client.upsert, self.collection, chunks[i : i + _UPSERT_ROWS])
            self._write_manifest([dataclasses.replace(row, path=new_path)])
            self.call(self.client.delete, self.manifest, filter=f"path == {quote(row.path)}")
        return len(rows)

    def count_documents(self) -> int:
        res = self.call(self.client.query, self.manifest, filter='content_hash != ""', output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    def close(self) -> None:
        if not self._owns_client:
            return
        with contextlib.suppress(Exception):
            self.client.close()
        # Embedded: the index's server is the data dir's (it serves other processes too), stopped
        # when the data dir is released.
        self._release()

    def _release(self) -> None:
        if self._owns_lock and self.datadir is not None:
            self.datadir.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ensure_collections(self, check: bool) -> None:
        if not self.client.has_collection(self.collection):
            schema.create_chunks(self.client, self.collection, embed_name=self.embed_name, dim=self.dim)
        elif check:
            schema.check_chunks(self.client, self.collection, embed_name=self.embed_name, dim=self.dim)
        if not self.client.has_collection(self.manifest):
            schema.create_manifest(self.client, self.manifest)
        if check:
            self.client.load_collection(self.collection)
        self.client.load_collection(self.manifest)

    def drop(self) -> None:
        """Delete both collections (`citeqa reindex` rebuilds them)."""
        self._unsync()
        for name in (self.collection, self.manifest):
            if self.client.has_collection(name):
                self.client.drop_collection(name)

    # -- writes ---------------------------------------------------------------

    def write_documents(self, docs: Sequence[DocumentVersion]) -> list[bool]:
        """Store each document version whole, replacing any other version of its path; for each,
        whether it replaced one. A run killed anywhere in here is repaired by the next `recover()`."""
        if len({d.path for d in docs}) != len(docs):
            raise ValueError("write_documents: a path appears twice in one batch")
        old = self.manifest_rows(d.path for d in docs)
        pending = []
        for d in docs:
            o = old.get(d.path)
            pending.append(
                ManifestRow(d.path, o.content_hash, d.content_hash, o.pages, o.chunks, o.ingested_at)
                if o
                else ManifestRow(d.path, "", d.content_hash, 0, 0, 0.0)
            )
        self._write_manifest(pending)
        self._upsert_chunks(docs)
        now = time.time()
        rows = [ManifestRow(d.path, d.content_hash, "", d.pages, len(d.chunks), now) for d in docs]
        replacing = [bool(old.get(d.path) and old[d.path].content_hash) for d in docs]
        if any(replacing):
            # pending == content: committed, but old chunks may remain; recover() finishes the job if we die here.
            self._write_manifest(
                [dataclasses.replace(r, pending_hash=r.content_hash) for r, rep in zip(rows, replacing, strict=True) if rep]
            )
            self._delete_other_versions([(r.path, r.content_hash) for r, rep in zip(rows, replacing, strict=True) if rep])
        self._write_manifest(rows)
        return replacing

    def _upsert_chunks(self, docs: Sequence[DocumentVersion]) -> None:
        rows = [
            {
                "id": c.id,
                "text": c.text,
                "source": c.source,
                "page": c.page or 0,
                "location": c.location[: schema.LOCATION_MAX],
                "chunk_index": c.index,
                "char_start": c.start,
                "char_end": c.end,
                "doc_hash": d.content_hash,
                "vector": v.tolist(),
            }
            for d in docs
            for c, v in zip(d.chunks, d.vectors, strict=True)
        ]
        for i in range(0, len(rows), _UPSERT_ROWS):
            self.call(self.client.upsert, self.collection, rows[i : i + _UPSERT_ROWS])

    def _delete_other_versions(self, versions: Sequence[tuple[str, str]]) -> None:
        """Delete the chunks of every version of each path but the given one. One delete per batch:
        milvus-lite scans every segment for each, 70 ms a delete at 20,000 passages."""
        for i in range(0, len(versions), MANIFEST_BATCH):
            expr = " or ".join(
                f"(source == {quote(p)} and doc_hash != {quote(h)})" for p, h in versions[i : i + MANIFEST_BATCH]
            )
            self.call(self.client.delete, self.collection, filter=expr)

    def remove_document(self, path: str) -> bool:
        return bool(self.remove_documents([path]))

    def remove_documents(self, paths: Sequence[str]) -> list[str]:
        """Remove each of `paths`, a batch of paths per delete (chunks first, then manifest rows, as
        for one document); returns those that were in the manifest."""
        self._unsync()
        existed = self.manifest_rows(paths)
        for i in range(0, len(paths), MANIFEST_BATCH):
            batch = ", ".join(quote(p) for p in paths[i : i + MANIFEST_BATCH])
            self.call(self.client.delete, self.collection, filter=f"source in [{batch}]")
            self.call(self.client.delete, self.manifest, filter=f"path in [{batch}]")
        return [p for p in paths if p in existed]

    def recover(self) -> int:
        """Repair documents a killed run left half-written; returns how many were repaired.

        A new version that was not committed is removed, and the old one (if any) restored; but two
        versions can share chunks (same id: same page, offset and text), which the new version's
        upsert took over, so an old version left incomplete is removed too, to be ingested afresh.
        A committed version whose predecessor's chunks were not yet all deleted has them deleted."""
        pending = list(self._iter_manifest('pending_hash != ""'))
        for row in pending:
            done = dataclasses.replace(row, pending_hash="")
            if row.pending_hash == row.content_hash:
                self._delete_other_versions([(row.path, row.content_hash)])
                self._write_manifest([done])
                continue
            self.call(
                self.client.delete,
                self.collection,
                filter=f"source == {quote(row.path)} and doc_hash == {quote(row.pending_hash)}",
            )
            if row.content_hash and self._count(f"source == {quote(row.path)}") == row.chunks:
                self._write_manifest([done])
            else:
                log.info("removing %s, left incomplete by an interrupted run; ingest it again", row.path)
                self.remove_document(row.path)
        return len(pending)

    def _count(self, expr: str) -> int:
        res = self.call(self.client.query, self.collection, filter=expr, output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    def _write_manifest(self, rows: Sequence[ManifestRow]) -> None:
        self._unsync()
        self.call(self.client.upsert, self.manifest, [{**dataclasses.asdict(r), "_unused": [0.0, 0.0]} for r in rows])

    def flush(self) -> None:
        """Write what Milvus holds in memory to its segment files, where milvus-lite indexes them in
        the background. Otherwise it keeps every row written since it opened in its in-memory table,
        and writes and indexes them all when it closes: after the command has reported its time.
        Embedded only: a Milvus server flushes by itself, and limits how often it may be asked to."""
        if self.datadir is None:
            return
        for name in (self.collection, self.manifest):
            self.call(self.client.flush, name)

    def _unsync(self) -> None:
        if self._synced_valid and self.datadir is not None:
            self.datadir.invalidate_synced()
            self._synced_valid = False

    def save_synced(self) -> None:
        """Record the manifest for `citeqa ingest` re-runs, unless a document is half-written."""
        if self.datadir is None:
            return
        if next(self._iter_manifest('pending_hash != "" or content_hash == ""'), None) is not None:
            return
        self.datadir.write_synced(self.embed_name, (r.record() for r in self._iter_manifest("")))
        self._synced_valid = True

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            failed = exc
            if self.datadir is not None and self._conn.reattached(fn, self.datadir):
                # the process serving the index stopped: once more, on the next
                try:
                    return getattr(self.client, fn.__name__)(*args, **kwargs)
                except Exception as again:
                    failed = again
            raise StoreError(f"Milvus {getattr(fn, '__name__', 'call')} failed on {self.uri}: {failed}") from failed
