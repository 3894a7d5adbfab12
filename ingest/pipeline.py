"""Files on disk → chunks in Milvus, incrementally and resumably.

Parsing and chunking run in a thread or in worker processes while the main thread embeds and
writes, so the CPU-bound halves overlap. Work is streamed end to end: the folder walk, the
manifest lookups, parsing and writing all go a window at a time, per-file results go to the
progress callback as they are settled, and milvus-lite is flushed every few thousand chunks, so
memory stays flat whatever the corpus size.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing as mp
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from citeqa.core.errors import DocumentError
from citeqa.core.files import absolute_path, content_hash, os_reason
from citeqa.core.settings import Settings
from citeqa.core.types import Chunk, Document, DocumentRecord, FileResult, IngestReport
from citeqa.ingest.chunker import Chunker
from citeqa.ingest.formats.base import ReadLimits
from citeqa.ingest.loaders import load
from citeqa.ingest.ocr import Ocr
from citeqa.ingest.report import ProgressFn, Tally
from citeqa.ingest.stream import count_ahead, prefetch
from citeqa.ingest.walk import discover
from citeqa.ingest.watchdog import ParseStalled, Watchdog, watched
from citeqa.retrieval import tokenizer as wordpieces
from citeqa.retrieval.embedder import Embedder
from citeqa.retrieval.rows import DocumentVersion
from citeqa.retrieval.store import Store

log = logging.getLogger(__name__)

_WINDOW = 200  # files looked up in the manifest at once
# Chunks written between milvus-lite flushes. Its in-memory table costs far more per row than its
# segment files (see Store.flush); each flush writes a segment and indexes it in the background.
# Chosen by peak RSS at 20,000 files (bench/README.md, scale.py).
FLUSH_CHUNKS = 1_000

Todo = tuple[str, str]  # (path, content hash) of a new or changed file


@dataclass(frozen=True)
class Parsed:
    path: str
    content_hash: str
    pages: int
    chunks: tuple[Chunk, ...]
    warnings: tuple[str, ...]
    title: str = ""
    ocr_pages: int = 0

    def embedding_texts(self) -> list[str]:
        """Chunk text prefixed with the document's title (a contextual header): without it a
        passage like "the lake's maximum depth was 47 m" loses, for "How deep is Aurora Lake?",
        to the overview page that names Aurora Lake three times. Stored text stays verbatim."""
        if not self.title:
            return [c.text for c in self.chunks]
        return [c.text if c.text.startswith(self.title) else f"{self.title}\n{c.text}" for c in self.chunks]


# Worker-process state: each parser process builds its chunker once.
_chunker: Chunker | None = None
_ocr: Ocr | None = None
_watchdog: Watchdog | None = None


def _init_worker(model: str, max_tokens: int, overlap: int, ocr: Ocr | None, parse_timeout: float) -> None:
    global _chunker, _ocr, _watchdog
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    _chunker = Chunker(wordpieces.load(model), max_tokens, overlap)
    _ocr = ocr
    if parse_timeout > 0:  # lives as long as the worker process; its thread is a daemon
        _watchdog = Watchdog(parse_timeout).__enter__()


def _parse(path: str, digest: str, max_bytes: int, limits: ReadLimits) -> Parsed | FileResult:
    assert _chunker is not None
    chunker = _chunker
    # Failures become results here, in the worker: an exception travels back pickled, and one that
    # cannot be rebuilt in the parent (DocumentError takes two arguments) breaks the whole pool.
    return Ingestor._guard(path, lambda: parse_with(chunker, path, digest, max_bytes, _ocr, _watchdog, limits))


def parse_with(
    chunker: Chunker,
    path: str,
    digest: str,
    max_bytes: int,
    ocr: Ocr | None = None,
    watchdog: Watchdog | None = None,
    limits: ReadLimits | None = None,
) -> Parsed:
    """Read and chunk one file; under `watchdog`, a reader that makes no progress for its limit
    is stopped (ParseStalled); `limits`: what its reader may unpack or render."""
    with watchdog.watching() if watchdog else contextlib.nullcontext() as tick:
        doc: Document = load(Path(path), max_bytes=max_bytes, ocr=ocr, tick=tick, limits=limits)
        chunks = tuple(chunker.split(doc))
    if not chunks:
        raise DocumentError(path, "no extractable text")
    return Parsed(path, digest, len(doc.pages), chunks, doc.warnings, document_title(doc), doc.ocr_pages)


def document_title(doc: Document, limit: int = 120) -> str:
    """The first line of the document (a PDF's title line, a Markdown heading), else the file name."""
    for page in doc.pages:
        for line in page.text.splitlines():
            line = line.strip().lstrip("#").strip()
            if len(line) >= 3:
                return line[:limit]
    return Path(doc.path).stem


class Ingestor:
    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        *,
        embed_model: str,
        chunk_tokens: int = 200,
        chunk_overlap: int = 30,
        max_bytes: int = 100 * 2**20,
        workers: int = 1,
        batch_chunks: int = 32,
        ocr: Ocr | None = None,
        flush_chunks: int = FLUSH_CHUNKS,
        parse_timeout: float = 0.0,
        limits: ReadLimits | None = None,
    ) -> None:
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

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, embedder: Embedder) -> Ingestor:
        return cls(
            store,
            embedder,
            embed_model=settings.resolved_embed_model(),
            chunk_tokens=settings.chunk_tokens,
            chunk_overlap=settings.chunk_overlap,
            max_bytes=int(settings.max_file_mb * 2**20),
            workers=settings.resolved_workers(),
            ocr=Ocr(settings.ocr_lang) if settings.ocr else None,
            parse_timeout=settings.parse_timeout,
            limits=ReadLimits.from_settings(settings),
        )

    # -- public ---------------------------------------------------------------

    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        prune: bool = False,
        on_progress: ProgressFn | None = None,
        started: float | None = None,
        known: Mapping[str, tuple[str, int, int]] | None = None,
    ) -> IngestReport:
        """`started`: the perf_counter() time the caller began the command at, so the report's
        seconds also count opening the index and loading what it needed. `known`: the data dir's
        synced record ({path: (content hash, pages, chunks)}), which is the manifest exactly when
        present: files are checked against it instead of querying Milvus for each window."""
        t0 = time.perf_counter() if started is None else started
        tally = Tally(on_progress)
        repaired = self.store.recover()
        if repaired:
            log.info("repaired %d document(s) left half-written by an interrupted run", repaired)
        roots = [Path(p) for p in paths]
        # A first walk only counts, for the progress bar; the second streams the work.
        tally.start(sum(1 for _ in discover(roots)))

        unflushed = 0
        for item in self._parsed(self._classified(roots, known)):
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
            missing = self._missing_under(paths)
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

    def _classified(self, roots: list[Path], known: Mapping[str, tuple[str, int, int]] | None) -> Iterator[FileResult | Todo]:
        """Each file found under `roots`, in walk order: a result when there is nothing to parse
        (skipped, failed, unchanged), else (path, content hash)."""
        window: list[str] = []
        for c in discover(roots):
            if c.skipped:
                yield FileResult(str(c.path), "skipped", error=c.problem)
            elif c.problem:
                yield FileResult(str(c.path), "failed", error=c.problem)
            else:
                window.append(str(c.path))
                if len(window) >= _WINDOW:
                    yield from self._changed(window, known)
                    window = []
        yield from self._changed(window, known)

    def _changed(self, paths: list[str], recorded: Mapping[str, tuple[str, int, int]] | None) -> Iterator[FileResult | Todo]:
        if recorded is not None:
            known = {p: DocumentRecord(p, r[0], r[1], r[2], 0.0) for p in paths if (r := recorded.get(p))}
        else:
            known = self.store.committed(paths) if paths else {}
        for p in paths:
            try:
                digest = content_hash(p)
            except OSError as exc:
                yield FileResult(p, "failed", error=os_reason(exc))
                continue
            row = known.get(p)
            if row and row.content_hash == digest:
                yield FileResult(p, "unchanged", chunks=row.chunks, pages=row.pages)
            else:
                yield (p, digest)

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
        # Worker processes only pay for their start-up when there are a few files to parse.
        todo, items = count_ahead(items, lambda x: not isinstance(x, FileResult), 3, limit=10 * _WINDOW)
        if self.workers <= 1 or todo <= 2:
            yield from self._parse_here(items)
        else:
            yield from self._parse_in_workers(items)

    def _parse_here(self, items: Iterator[FileResult | Todo]) -> Iterator[FileResult | Parsed]:
        def parse(item: FileResult | Todo) -> FileResult | Parsed:
            if isinstance(item, FileResult):
                return item
            if self._local_chunker is None:  # not before there is work: an unchanged run skips the tokenizer
                self._local_chunker = Chunker(self.embedder.tokenizer, self.max_tokens, self.overlap)
            chunker, (path, digest) = self._local_chunker, item
            return self._guard(path, lambda: parse_with(chunker, path, digest, self.max_bytes, self.ocr, dog, self.limits))

        # A thread parses ahead while the caller embeds: onnxruntime and torch release the GIL while
        # they compute, so on a small machine this overlaps the two halves without another process.
        with watched(self.parse_timeout) as dog:
            yield from prefetch((parse(x) for x in items), ahead=8)

    def _parse_in_workers(self, items: Iterator[FileResult | Todo]) -> Iterator[FileResult | Parsed]:
        ctx = mp.get_context("spawn")  # fork after torch has started threads can deadlock
        init = (self.embed_model, self.max_tokens, self.overlap, self.ocr, self.parse_timeout)
        with cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_init_worker, initargs=init) as pool:
            window = self.workers * 4  # bounded in-flight work keeps memory flat on huge corpora
            pending: dict[cf.Future, str] = {}
            for item in items:
                if isinstance(item, FileResult):
                    yield item
                    continue
                pending[pool.submit(_parse, item[0], item[1], self.max_bytes, self.limits)] = item[0]
                while len(pending) >= window:
                    yield from self._collect(pending)
            while pending:
                yield from self._collect(pending)

    def _collect(self, pending: dict[cf.Future, str]) -> Iterator[FileResult | Parsed]:
        done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        for fut in done:
            yield self._guard(pending.pop(fut), fut.result)

    @staticmethod
    def _guard(path: str, fn: Callable[[], Parsed | FileResult]) -> FileResult | Parsed:
        try:
            return fn()
        except DocumentError as exc:
            return FileResult(path, "failed", error=exc.reason)
        except OSError as exc:
            return FileResult(path, "failed", error=os_reason(exc))
        except ParseStalled as exc:
            return FileResult(path, "failed", error=str(exc))
        except Exception as exc:  # a parser bug on one file must not stop a bulk run
            log.debug("unexpected error parsing %s", path, exc_info=True)
            return FileResult(path, "failed", error=f"could not parse: {type(exc).__name__}: {exc}")

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
