"""Files on disk → chunks in Milvus, incrementally and resumably.

Parsing and chunking run in worker processes (citeqa.ingest.parsers, kept between ingests; in
a thread when CITEQA_PARSE_TIMEOUT is 0) while the main thread embeds and writes, so the CPU-bound
halves overlap. Work is streamed end to end: the folder walk, the
manifest lookups, parsing and writing all go a window at a time, per-file results go to the
progress callback as they are settled, and milvus-lite is flushed every few thousand chunks, so
memory stays flat whatever the corpus size.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from citeqa.core.files import absolute_path
from citeqa.core.settings import Settings
from citeqa.core.types import FileResult, IngestReport, SyncedFile
from citeqa.ingest.chunker import Chunker
from citeqa.ingest.formats.base import ReadLimits
from citeqa.ingest.ocr import Ocr
from citeqa.ingest.parse import Parsed, parse_with, parsed_or_failed
from citeqa.ingest.parsers import ParserPool, WorkerSetup
from citeqa.ingest.plan import Plan, PlannedFile
from citeqa.ingest.report import ProgressFn, Tally
from citeqa.ingest.stream import count_ahead, prefetch
from citeqa.retrieval.embedder import Embedder
from citeqa.retrieval.rows import DocumentVersion
from citeqa.retrieval.store import Store

log = logging.getLogger(__name__)

# Chunks written between milvus-lite flushes. Its in-memory table costs far more per row than its
# segment files (see Store.flush); each flush writes a segment and indexes it in the background.
# Chosen by peak RSS at 20,000 files (bench/README.md, scale.py).
FLUSH_CHUNKS = 1_000

Todo = PlannedFile  # a new or changed file, to read


class Ingestor:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        embed_model: str,
        chunk_tokens: int,
        chunk_overlap: int,
        max_bytes: int,
        workers: int,
        parse_timeout: float,
        batch_chunks: int = 32,
        ocr: Ocr | None = None,
        flush_chunks: int = FLUSH_CHUNKS,
        limits: ReadLimits | None = None,
        parsers: ParserPool | None = None,
    ) -> None:
        """The values that are settings have no defaults here: their one home is citeqa.core.settings
        (`from_settings`). `parsers`: the parser processes to read files with, kept by the caller
        (an engine shares one pool between its collections); else the Ingestor keeps its own, until
        `close`."""
        self.store = store
        self.embedder = embedder
        self.embed_model = embed_model
        # Special tokens count against the model's window too.
        self.max_tokens = min(chunk_tokens, embedder.max_tokens)
        self.overlap = min(chunk_overlap, self.max_tokens // 4)
        self.max_bytes = max_bytes
        self.workers = workers
        self.batch_chunks = batch_chunks
        self.ocr = ocr
        self.flush_chunks = flush_chunks
        self.parse_timeout = parse_timeout
        self.limits = limits or ReadLimits()
        self._local_chunker: Chunker | None = None
        self._owns_parsers = parsers is None
        self.parsers = parsers if parsers is not None else ParserPool()
        self._setup: WorkerSetup | None = None

    def close(self) -> None:
        """Stop the parser processes, if this Ingestor keeps its own."""
        if self._owns_parsers:
            self.parsers.close()

    @classmethod
    def from_settings(
        cls, settings: Settings, store: Store, embedder: Embedder, *, parsers: ParserPool | None = None
    ) -> Ingestor:
        return cls(
            store,
            embedder,
            embed_model=settings.resolved_embed_model(),
            chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap,
            max_bytes=settings.max_file_bytes,
            workers=settings.resolved_workers(),
            ocr=Ocr(settings.ocr_lang) if settings.ocr else None,
            parse_timeout=settings.parse_timeout,
            limits=ReadLimits.from_settings(settings),
            parsers=parsers,
        )

    # -- public ---------------------------------------------------------------

    def ingest(
        self,
        plan: Plan,
        *,
        prune: bool = False,
        on_progress: ProgressFn | None = None,
        started: float | None = None,
    ) -> IngestReport:
        """Read the new and changed files of `plan` (citeqa.ingest.plan), going on from the files
        it has already looked at; with `prune`, also drop documents under its paths whose files are
        gone. `started`: the perf_counter() time the caller began the command at, so the report's
        seconds also count opening the index and loading what it needed."""
        t0 = time.perf_counter() if started is None else started
        tally = Tally(on_progress)
        repaired = self.store.recover()
        if repaired:
            log.info("repaired %d document(s) left half-written by an interrupted run", repaired)
        tally.start(plan.total)

        unflushed = 0
        files = (f if f.to_read else f.result() for f in plan.files(lookup=self._held))
        for item in self._parsed(files):
            if isinstance(item, FileResult):
                tally.settle(item)
                continue
            for r in self._write_batch(item):
                tally.settle(r)
                unflushed += r.chunks
            if unflushed >= self.flush_chunks:
                self.store.flush()
                unflushed = 0

        if prune:
            missing = self._missing_under(plan.paths)
            self.store.remove_documents(missing)
            for path in missing:
                tally.settle(FileResult(path, "removed"))

        # Done here, not when the index closes after the report: the time is the command's.
        self.store.flush()
        self.store.save_synced()
        return tally.report(time.perf_counter() - t0)

    def remove(self, paths: Iterable[str | Path]) -> list[str]:
        """Remove documents by file path, or every document under a folder path."""
        removed: list[str] = []
        for p in paths:
            target = absolute_path(p)
            matches = [d.path for d in self.store.documents(under=[target])]
            if self.store.stored([target]):
                matches.append(target)
            self.store.remove_documents(matches)
            removed += matches
        return removed

    # -- internals ------------------------------------------------------------

    def _held(self, paths: list[str]) -> dict[str, SyncedFile]:
        """What the index holds of `paths`, from the manifest (where there is no synced record)."""
        committed = self.store.committed(paths) if paths else {}
        return {p: SyncedFile(r.content_hash, r.pages, r.chunks) for p, r in committed.items()}

    def _missing_under(self, roots: Sequence[str | Path]) -> list[str]:
        dirs = [absolute_path(r) for r in roots if Path(r).is_dir()]
        files = [absolute_path(r) for r in roots if not Path(r).is_dir()]
        # Only the missing ones are kept: the manifest is read a page at a time.
        missing = {d.path for d in self.store.iter_documents(under=dirs) if not os.path.lexists(d.path)} if dirs else set()
        missing |= {p for p in self.store.stored(files) if not os.path.lexists(p)}
        return sorted(missing)

    def _parsed(self, items: Iterator[FileResult | Todo]) -> Iterator[FileResult | list[Parsed]]:
        """Yields results as they come and batches of parsed documents of about `batch_chunks`
        chunks, so embedding runs on full batches across small files. Small: the embedder idles
        until the first batch is parsed (with 256, 4 s of a 22 s ingest here), and the int8
        backend gains nothing from larger ones."""
        batch: list[Parsed] = []
        size = 0
        for item in self._parse_all(items):
            if isinstance(item, FileResult):
                yield item
                continue
            batch.append(item)
            size += len(item.chunks)
            if size >= self.batch_chunks:
                yield batch
                batch, size = [], 0
        if batch:
            yield batch

    def _parse_all(self, items: Iterator[FileResult | Todo]) -> Iterator[FileResult | Parsed]:
        # New worker processes only pay for their start-up when there are a few files to parse
        # (workers already started are used whatever the number).
        todo, items = count_ahead(items, lambda x: not isinstance(x, FileResult), 3, limit=2000)
        size = 1 if self.workers <= 1 or todo <= 2 else self.workers
        if size == 1 and self.parse_timeout <= 0:
            yield from self._parse_here(items)
        else:
            # Under a time limit even one file is read in a worker process: only a process can be
            # stopped wherever its reader loops (citeqa.ingest.parsers).
            yield from self._parse_in_workers(items, size)

    def _parse_here(self, items: Iterator[FileResult | Todo]) -> Iterator[FileResult | Parsed]:
        def parse(item: FileResult | Todo) -> FileResult | Parsed:
            if isinstance(item, FileResult):
                return item
            if self._local_chunker is None:  # not before there is work: an unchanged run skips the tokenizer
                self._local_chunker = Chunker(self.embedder.tokenizer, self.max_tokens, self.overlap)
            chunker, path, digest = self._local_chunker, item.path, item.content_hash
            return parsed_or_failed(path, lambda: parse_with(chunker, path, digest, self.max_bytes, self.ocr, self.limits))

        # A thread parses ahead while the caller embeds: onnxruntime and torch release the GIL while
        # they compute, so on a small machine this overlaps the two halves without another process.
        yield from prefetch((parse(x) for x in items), ahead=8)

    def _parse_in_workers(self, items: Iterator[FileResult | Todo], size: int) -> Iterator[FileResult | Parsed]:
        if self._setup is None:  # one object: a worker is sent it once, not with every file
            self._setup = WorkerSetup(self.embed_model, self.max_tokens, self.overlap, self.max_bytes, self.limits, self.ocr)
        # The pool starts at the first file to read: none for a re-run.
        with self.parsers.batch(self._setup, self.parse_timeout, size) as batch:
            window = size * 4  # bounded in-flight work keeps memory flat on huge corpora
            pending: dict[cf.Future, str] = {}
            for item in items:
                if isinstance(item, FileResult):
                    yield item
                    continue
                pending[batch.submit(item.path, item.content_hash)] = item.path
                while len(pending) >= window:
                    yield from self._collect(pending)
            while pending:
                yield from self._collect(pending)

    @staticmethod
    def _collect(pending: dict[cf.Future, str]) -> Iterator[FileResult | Parsed]:
        done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        for fut in done:
            yield parsed_or_failed(pending.pop(fut), fut.result)

    def _write_batch(self, batch: list[Parsed]) -> list[FileResult]:
        """Embed the batch and store it (one set of writes for the whole batch); a result per document."""
        vectors = self.embedder.embed_documents([t for p in batch for t in p.embedding_texts()])
        versions, offset = [], 0
        for p in batch:
            versions.append(DocumentVersion(p.path, p.content_hash, p.chunks, vectors[offset : offset + len(p.chunks)], p.pages))
            offset += len(p.chunks)
        replaced = self.store.write_documents(versions)
        return [
            FileResult(
                p.path,
                "replaced" if rep else "added",
                chunks=len(p.chunks),
                pages=p.pages,
                warnings=p.warnings,
                ocr_pages=p.ocr_pages,
            )
            for p, rep in zip(batch, replaced, strict=True)
        ]
