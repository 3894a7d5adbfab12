"""The Milvus index: chunks and the document manifest, written crash-safely and searched in batches.

The same code serves embedded milvus-lite, a Milvus server and Zilliz Cloud; only the URI
differs. The manifest lives in Milvus too, so sync state travels with the index.

`write_document` is the only way a document gets in, and its order of writes is what makes a
killed run repairable:
1. the manifest row gets `pending_hash` = the new version's hash;
2. the new version's chunks are upserted (ids derive from content, so a retry writes the same
   rows again rather than duplicates);
3. the manifest row is committed (`content_hash` = new hash); when it replaces an older version,
   `pending_hash` stays equal to it until
4. the chunks of any other version of that file are deleted, and it is cleared.
`recover()` undoes whatever a killed run left between 1 and 3 and finishes 4.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from citeqa.core.errors import DataDirInUse, StoreError
from citeqa.core.settings import Settings
from citeqa.core.types import Chunk, DocumentRecord, Hit
from citeqa.retrieval import schema
from citeqa.retrieval.datadir import EmbeddedDataDir

log = logging.getLogger(__name__)

_QUERY_PAGE = 1_000  # rows per query page; Milvus caps offset+limit at 16,384
_SEARCH_BATCH = 256  # queries per search call
_MANIFEST_BATCH = 200  # paths per manifest lookup


@dataclass(frozen=True)
class ManifestRow:
    path: str
    content_hash: str
    pending_hash: str
    pages: int
    chunks: int
    ingested_at: float

    def record(self) -> DocumentRecord:
        return DocumentRecord(self.path, self.content_hash, self.pages, self.chunks, self.ingested_at)


def quote(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Store:
    """`datadir`: the embedded data dir whose index this is (None for a Milvus server). Its lock
    must be held while the store is open; `Store.open` takes it when the caller has not."""

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
    ) -> None:
        from pymilvus import MilvusClient

        self.uri = uri
        self.collection = collection
        self.manifest = f"{collection}_manifest"
        self.embed_name = embed_name
        self.dim = dim
        self.datadir = datadir
        self._owns_lock = datadir is not None and not datadir.locked
        self._synced_valid = datadir is not None
        if self._owns_lock:
            datadir.acquire()  # type: ignore[union-attr]
        try:
            try:
                self.client = MilvusClient(uri=uri, token=token or "")
            except Exception:
                if datadir is not None:
                    raise
                # pymilvus shares one gRPC connection per server; after a couple of idle minutes the
                # server closes it ("too_many_pings") and the next client's handshake fails once.
                self.client = MilvusClient(uri=uri, token=token or "")
        except Exception as exc:
            self._release()
            msg = str(exc)
            if "Open local milvus failed" in msg and datadir is not None:
                raise DataDirInUse(datadir.path, None) from exc
            raise StoreError(f"cannot connect to Milvus at {uri}: {msg.splitlines()[0] if msg else exc!r}") from exc
        try:
            self._ensure_collections(check)
        except Exception:
            self.close()
            raise

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
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()
        if self.datadir is not None:
            # Embedded: pymilvus leaves milvus-lite's in-process server (and its lock on the data dir)
            # running until exit, so another process could not open the index this one has closed.
            with contextlib.suppress(Exception):
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.uri)
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

    def write_document(
        self, path: str, content_hash: str, chunks: Sequence[Chunk], vectors: np.ndarray, *, pages: int
    ) -> bool:
        """Store one document version whole, replacing any other version of `path`; True when it
        replaced one. A run killed anywhere in here is repaired by the next `recover()`."""
        old = self.manifest_rows([path]).get(path)
        replacing = bool(old and old.content_hash)
        self._write_manifest(
            ManifestRow(
                path=path,
                content_hash=old.content_hash if old else "",
                pending_hash=content_hash,
                pages=old.pages if old else 0,
                chunks=old.chunks if old else 0,
                ingested_at=old.ingested_at if old else 0.0,
            )
        )
        self._upsert_chunks(chunks, vectors, content_hash)
        row = ManifestRow(path, content_hash, "", pages, len(chunks), time.time())
        if replacing:
            # pending == content: committed, but old chunks may remain; recover() finishes the job if we die here.
            self._write_manifest(dataclasses.replace(row, pending_hash=content_hash))
            self._delete_other_versions(path, content_hash)
        self._write_manifest(row)
        return replacing

    def _upsert_chunks(self, chunks: Sequence[Chunk], vectors: np.ndarray, doc_hash: str) -> None:
        if not len(chunks):
            return
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
                "doc_hash": doc_hash,
                "vector": v.tolist(),
            }
            for c, v in zip(chunks, vectors, strict=True)
        ]
        self._call(self.client.upsert, self.collection, rows)

    def _delete_other_versions(self, path: str, content_hash: str) -> None:
        self._call(self.client.delete, self.collection, filter=f"source == {quote(path)} and doc_hash != {quote(content_hash)}")

    def remove_document(self, path: str) -> bool:
        self._unsync()
        existed = path in self.manifest_rows([path])
        self._call(self.client.delete, self.collection, filter=f"source == {quote(path)}")
        self._call(self.client.delete, self.manifest, filter=f"path == {quote(path)}")
        return existed

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
                self._delete_other_versions(row.path, row.content_hash)
                self._write_manifest(done)
                continue
            self._call(
                self.client.delete,
                self.collection,
                filter=f"source == {quote(row.path)} and doc_hash == {quote(row.pending_hash)}",
            )
            if row.content_hash and self._count(f"source == {quote(row.path)}") == row.chunks:
                self._write_manifest(done)
            else:
                log.info("removing %s, left incomplete by an interrupted run; ingest it again", row.path)
                self.remove_document(row.path)
        return len(pending)

    def _count(self, expr: str) -> int:
        res = self._call(self.client.query, self.collection, filter=expr, output_fields=["count(*)"])
        return int(res[0]["count(*)"])

    def _write_manifest(self, row: ManifestRow) -> None:
        self._unsync()
        self._call(self.client.upsert, self.manifest, [{**dataclasses.asdict(row), "_unused": [0.0, 0.0]}])

    def _unsync(self) -> None:
        if self._synced_valid and self.datadir is not None:
            self.datadir.invalidate_synced()
            self._synced_valid = False

    def save_synced(self) -> None:
        """Record the manifest for `citeqa ingest` re-runs, unless a document is half-written."""
        if self.datadir is None:
            return
        rows = list(self._iter_manifest(""))
        if any(r.pending_hash or not r.content_hash for r in rows):
            return
        self.datadir.write_synced(self.embed_name, [r.record() for r in rows])
        self._synced_valid = True

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise StoreError(f"Milvus {getattr(fn, '__name__', 'call')} failed on {self.uri}: {exc}") from exc

    # -- reads ----------------------------------------------------------------

    def manifest_rows(self, paths: Iterable[str]) -> dict[str, ManifestRow]:
        out: dict[str, ManifestRow] = {}
        batch: list[str] = []
        for p in [*paths, None]:
            if p is not None:
                batch.append(p)
            if batch and (p is None or len(batch) == _MANIFEST_BATCH):
                expr = "path in [" + ", ".join(quote(x) for x in batch) + "]"
                rows = self._call(self.client.query, self.manifest, filter=expr, output_fields=schema.MANIFEST_FIELDS)
                out.update((r["path"], _manifest_row(r)) for r in rows)
                batch = []
        return out

    def _iter_manifest(self, expr: str) -> Iterator[ManifestRow]:
        for r in self._query_all(self.manifest, expr, schema.MANIFEST_FIELDS):
            yield _manifest_row(r)

    def _query_all(self, collection: str, expr: str, fields: list[str]) -> Iterator[dict]:
        it = self._call(self.client.query_iterator, collection, filter=expr, output_fields=fields, batch_size=_QUERY_PAGE)
        try:
            while True:
                page = it.next()
                if not page:
                    return
                yield from page
        finally:
            it.close()

    def documents(self, under: Sequence[str] = ()) -> list[DocumentRecord]:
        expr = 'content_hash != ""'
        if under:
            expr += " and (" + " or ".join(f"path like {quote(_like_prefix(u))}" for u in under) + ")"
        return sorted((r.record() for r in self._iter_manifest(expr)), key=lambda d: d.path)

    def count_chunks(self) -> int:
        return self._count("")

    def chunks_of(self, path: str) -> list[dict]:
        return list(self._query_all(self.collection, f"source == {quote(path)}", ["id", *schema.CHUNK_FIELDS]))

    # -- search ---------------------------------------------------------------
    # Every search takes a batch of queries: Milvus answers nq queries in one call far faster than
    # nq calls (one round trip, one plan), which is what keeps `citeqa eval` over thousands of
    # questions within minutes.

    def search_dense(self, vectors: np.ndarray, limit: int, expr: str = "") -> list[list[Hit]]:
        return self._search(vectors.tolist(), "vector", "COSINE", limit, expr, abs_score=False)

    def search_bm25(self, queries: Sequence[str], limit: int, expr: str = "") -> list[list[Hit]]:
        # BM25 scores are non-negative; milvus-lite reports them negated as distances.
        return self._search(list(queries), "sparse", "BM25", limit, expr, abs_score=True)

    def _search(self, data: list, field: str, metric: str, limit: int, expr: str, *, abs_score: bool) -> list[list[Hit]]:
        out: list[list[Hit]] = []
        for i in range(0, len(data), _SEARCH_BATCH):
            res = self._call(
                self.client.search,
                self.collection,
                data=data[i : i + _SEARCH_BATCH],
                anns_field=field,
                limit=limit,
                filter=expr,
                output_fields=schema.CHUNK_FIELDS,
                search_params={"metric_type": metric},
            )
            out += [[_hit(r, abs(r["distance"]) if abs_score else r["distance"]) for r in row] for row in res]
        return out

    def search_hybrid(
        self, vectors: np.ndarray, queries: Sequence[str], limit: int, expr: str, *, candidates: int, ranker: Any
    ) -> list[list[Hit]]:
        """Dense and BM25 legs merged by Milvus itself with `ranker` (a pymilvus ranker); each hit's
        score is the fused score. The filter goes on each leg, so both draw their candidates from
        the matching sources only."""
        from pymilvus import AnnSearchRequest

        out: list[list[Hit]] = []
        where = expr or None
        for i in range(0, len(queries), _SEARCH_BATCH):
            batch = slice(i, i + _SEARCH_BATCH)
            reqs = [
                AnnSearchRequest(vectors[batch].tolist(), "vector", {"metric_type": "COSINE"}, candidates, expr=where),
                AnnSearchRequest(list(queries[batch]), "sparse", {"metric_type": "BM25"}, candidates, expr=where),
            ]
            res = self._call(
                self.client.hybrid_search, self.collection, reqs, ranker, limit=limit, output_fields=schema.CHUNK_FIELDS
            )
            out += [[_hit(r, r["distance"]) for r in row] for row in res]
        return out


def _manifest_row(r: dict) -> ManifestRow:
    return ManifestRow(**{k: r[k] for k in schema.MANIFEST_FIELDS})


def _like_prefix(root: str) -> str:
    root = root.rstrip("/")
    return root.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"


def _hit(r: dict, score: float) -> Hit:
    e = r["entity"]
    return Hit(
        chunk_id=str(r["id"]),
        source=e["source"],
        page=e["page"] or None,
        text=e["text"],
        score=float(score),
        index=int(e["chunk_index"]),
        location=e.get("location") or "",
    )
