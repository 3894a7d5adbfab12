"""What a store holds, read back: the manifest's rows and documents, a document's passages. A part
of `citeqa.retrieval.store.Store` (which opens the collections and writes them), kept apart so
that each module holds one side of the index."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from citeqa.core.types import DocumentRecord, Hit
from citeqa.retrieval import schema
from citeqa.retrieval.rows import ManifestRow, like_prefix, manifest_row, quote

_QUERY_PAGE = 10_000  # rows per query page (Milvus caps a page at 16,384); each page scans the collection again: `citeqa docs` of 20,000 documents took 3.1 s with pages of 1,000, 2.0 s with 10,000
MANIFEST_BATCH = 200  # paths per manifest lookup (or delete)


class StoreReads:
    """`Store`'s reads; what they use is `Store`'s (declared here for the type checker)."""

    if TYPE_CHECKING:
        collection: str
        manifest: str

        @property
        def client(self) -> Any: ...

        def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any: ...

        def _count(self, expr: str) -> int: ...

    def manifest_rows(self, paths: Iterable[str]) -> dict[str, ManifestRow]:
        out: dict[str, ManifestRow] = {}
        batch: list[str] = []
        for p in [*paths, None]:
            if p is not None:
                batch.append(p)
            if batch and (p is None or len(batch) == MANIFEST_BATCH):
                expr = "path in [" + ", ".join(quote(x) for x in batch) + "]"
                rows = self.call(self.client.query, self.manifest, filter=expr, output_fields=schema.MANIFEST_FIELDS)
                out.update((r["path"], manifest_row(r)) for r in rows)
                batch = []
        return out

    def stored(self, paths: Iterable[str]) -> set[str]:
        """Those of `paths` the manifest has a row for, whole or half-written."""
        return set(self.manifest_rows(paths))

    def committed(self, paths: Iterable[str]) -> dict[str, DocumentRecord]:
        """The documents of `paths` stored whole; a version half-written by a killed run is not."""
        return {p: r.record() for p, r in self.manifest_rows(paths).items() if r.content_hash and not r.pending_hash}

    def _iter_manifest(self, expr: str) -> Iterator[ManifestRow]:
        for r in self._query_all(self.manifest, expr, schema.MANIFEST_FIELDS):
            yield manifest_row(r)

    def _query_all(self, collection: str, expr: str, fields: list[str]) -> Iterator[dict]:
        it = self.call(self.client.query_iterator, collection, filter=expr, output_fields=fields, batch_size=_QUERY_PAGE)
        try:
            while True:
                page = it.next()
                if not page:
                    return
                yield from page
        finally:
            it.close()

    def documents(self, under: Sequence[str] = ()) -> list[DocumentRecord]:
        return sorted(self.iter_documents(under), key=lambda d: d.path)

    def iter_documents(self, under: Sequence[str] = ()) -> Iterator[DocumentRecord]:
        """The committed documents (under the folders `under`, if given), a page at a time, unordered."""
        expr = 'content_hash != ""'
        if under:
            expr += " and (" + " or ".join(f"path like {quote(like_prefix(u))}" for u in under) + ")"
        return (r.record() for r in self._iter_manifest(expr))

    def count_chunks(self) -> int:
        return self._count("")

    def passages(self, path: str) -> list[Hit]:
        """The chunks of the document at `path` as hits, in reading order (page, then position);
        `score` is 0: they were not searched for."""
        rows = self.chunks_of(path)
        hits = [
            Hit(str(r["id"]), r["source"], r["page"] or None, r["text"], 0.0, int(r["chunk_index"]), r.get("location") or "")
            for r in rows
        ]
        return sorted(hits, key=lambda h: (h.page or 0, h.index))

    def opening(self, path: str) -> Hit | None:
        """The first passage of the document at `path` (its title, byline and abstract), if any."""
        rows = self.call(
            self.client.query, self.collection, filter=f"source == {quote(path)} and chunk_index == 0",
            output_fields=["id", *schema.CHUNK_FIELDS], limit=1,
        )  # fmt: skip
        if not rows:
            return None
        r = rows[0]
        return Hit(str(r["id"]), r["source"], r["page"] or None, r["text"], 0.0, 0, r.get("location") or "")

    def chunks_of(self, path: str) -> list[dict]:
        return list(self._query_all(self.collection, f"source == {quote(path)}", ["id", *schema.CHUNK_FIELDS]))
