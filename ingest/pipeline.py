"""Files on disk → chunks in Milvus, incrementally and resumably.

Parsing and chunking run in worker processes while the main process embeds
and writes, so the CPU-bound halves overlap. Work is streamed: at most a few
documents are in flight, whatever the corpus size.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import multiprocessing as mp
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from citeqa.core.errors import DocumentError
from citeqa.core.files import content_hash, os_reason
from citeqa.core.settings import Settings
from citeqa.core.types import Chunk, Document, FileResult, IngestProgress, IngestReport
from citeqa.ingest.chunker import Chunker
from citeqa.ingest.loaders import load
from citeqa.ingest.walk import discover
from citeqa.retrieval import tokenizer as wordpieces
from citeqa.retrieval.embedder import Embedder
from citeqa.retrieval.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parsed:
    path: str
    content_hash: str
    pages: int
    chunks: tuple[Chunk, ...]
    warnings: tuple[str, ...]
    title: str = ""

    def embedding_texts(self) -> list[str]:
        """Chunk text prefixed with the document's title (a contextual header): without it a
        passage like "the lake's maximum depth was 47 m" loses, for "How deep is Aurora Lake?",
        to the overview page that names Aurora Lake three times. Stored text stays verbatim."""
        if not self.title:
            return [c.text for c in self.chunks]
        return [c.text if c.text.startswith(self.title) else f"{self.title}\n{c.text}" for c in self.chunks]


ProgressFn = Callable[[IngestProgress], None]

# Worker-process state: each parser process builds its chunker once.
_chunker: Chunker | None = None


def _init_worker(model: str, max_tokens: int, overlap: int) -> None:
    global _chunker
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    _chunker = Chunker(wordpieces.load(model), max_tokens, overlap)


def _parse(path: str, digest: str, max_bytes: int) -> Parsed | FileResult:
    assert _chunker is not None
    chunker = _chunker
    # Failures become results here, in the worker: an exception travels back pickled, and one that
    # cannot be rebuilt in the parent (DocumentError takes two arguments) breaks the whole pool.
    return Ingestor._guard(path, lambda: parse_with(chunker, path, digest, max_bytes))


def parse_with(chunker: Chunker, path: str, digest: str, max_bytes: int) -> Parsed:
    doc: Document = load(Path(path), max_bytes=max_bytes)
    chunks = tuple(chunker.split(doc))
    if not chunks:
        raise DocumentError(path, "no extractable text")
    return Parsed(path, digest, len(doc.pages), chunks, doc.warnings, document_title(doc))


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
        )

    # -- public ---------------------------------------------------------------

    def ingest(self, paths: Sequence[str | Path], *, prune: bool = False, on_progress: ProgressFn | None = None) -> IngestReport:
        t0 = time.perf_counter()
        notify = on_progress or (lambda _p: None)
        repaired = self.store.recover()
        if repaired:
            log.info("repaired %d document(s) left half-written by an interrupted run", repaired)

        results: list[FileResult] = []
        todo: list[tuple[str, str]] = []  # (path, content hash) of new or changed files
        candidates = list(discover(Path(p) for p in paths))
        total = len(candidates)
        notify(IngestProgress(total, 0, 0))

        def settle(r: FileResult, chunks_so_far: int) -> None:
            results.append(r)
            notify(IngestProgress(total, len(results), chunks_so_far, r))

        ok: list[Path] = []
        for c in candidates:
            if c.skipped:
                settle(FileResult(str(c.path), "skipped", error=c.problem), 0)
            elif c.problem:
                settle(FileResult(str(c.path), "failed", error=c.problem), 0)
            else:
                ok.append(c.path)

        known = self.store.manifest_rows(str(p) for p in ok)
        for p in ok:
            try:
                digest = content_hash(p)
            except OSError as exc:
                settle(FileResult(str(p), "failed", error=os_reason(exc)), 0)
                continue
            row = known.get(str(p))
            if row and row.content_hash == digest and not row.pending_hash:
                settle(FileResult(str(p), "unchanged", chunks=row.chunks, pages=row.pages), 0)
            else:
                todo.append((str(p), digest))

        chunks_added = 0
        for parsed_or_err in self._parsed(todo):
            if isinstance(parsed_or_err, FileResult):
                settle(parsed_or_err, chunks_added)
                continue
            for parsed, replaced in self._write_batch(parsed_or_err):
                chunks_added += len(parsed.chunks)
                status = "replaced" if replaced else "added"
                settle(
                    FileResult(parsed.path, status, chunks=len(parsed.chunks), pages=parsed.pages, warnings=parsed.warnings),
                    chunks_added,
                )

        if prune:
            for path in self._missing_under(paths):
                self.store.remove_document(path)
                settle(FileResult(path, "removed"), chunks_added)

        self.store.save_synced()
        return IngestReport(tuple(results), chunks_added, time.perf_counter() - t0)

    def remove(self, paths: Iterable[str | Path]) -> list[str]:
        """Remove documents by file path, or every document under a folder path."""
        removed: list[str] = []
        for p in paths:
            target = str(Path(p).absolute())
            matches = [d.path for d in self.store.documents(under=[target])]
            if target in self.store.manifest_rows([target]):
                matches.append(target)
            for m in matches:
                self.store.remove_document(m)
                removed.append(m)
        return removed

    # -- internals ------------------------------------------------------------

    def _missing_under(self, roots: Sequence[str | Path]) -> list[str]:
        dirs = [str(Path(r).absolute()) for r in roots if Path(r).is_dir()]
        files = [str(Path(r).absolute()) for r in roots if not Path(r).is_dir()]
        docs = [d.path for d in self.store.documents(under=dirs)] if dirs else []
        docs += list(self.store.manifest_rows(files))
        return sorted({d for d in docs if not os.path.lexists(d)})

    def _parsed(self, todo: list[tuple[str, str]]) -> Iterator[FileResult | list[Parsed]]:
        """Yields failures as they happen and batches of parsed documents of about
        `batch_chunks` chunks, so embedding runs on full batches across small files. Small: the
        embedder idles until the first batch is parsed (with 256, 4 s of a 22 s ingest here), and
        the int8 backend gains nothing from larger ones."""
        batch: list[Parsed] = []
        size = 0
        for item in self._parse_all(todo):
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

    def _parse_all(self, todo: list[tuple[str, str]]) -> Iterator[FileResult | Parsed]:
        if not todo:  # an unchanged re-run must not pay for loading the tokenizer
            return
        if self.workers <= 1 or len(todo) <= 2:
            if self._local_chunker is None:
                self._local_chunker = Chunker(self.embedder.tokenizer, self.max_tokens, self.overlap)
            chunker = self._local_chunker
            # A thread parses ahead while the caller embeds: torch releases the GIL while it computes,
            # so on a small machine this overlaps the two halves without starting any process.
            yield from _prefetch(
                (self._guard(path, lambda p=path, d=digest: parse_with(chunker, p, d, self.max_bytes)) for path, digest in todo),
                ahead=8,
            )
            return
        ctx = mp.get_context("spawn")  # fork after torch has started threads can deadlock
        with cf.ProcessPoolExecutor(
            self.workers, mp_context=ctx, initializer=_init_worker, initargs=(self.embed_model, self.max_tokens, self.overlap)
        ) as pool:
            window = self.workers * 4  # bounded in-flight work keeps memory flat on huge corpora
            pending: dict[cf.Future, str] = {}
            it = iter(todo)
            for path, digest in it:
                pending[pool.submit(_parse, path, digest, self.max_bytes)] = path
                if len(pending) >= window:
                    break
            while pending:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    path = pending.pop(fut)
                    yield self._guard(path, fut.result)
                    nxt = next(it, None)
                    if nxt is not None:
                        pending[pool.submit(_parse, nxt[0], nxt[1], self.max_bytes)] = nxt[0]

    @staticmethod
    def _guard(path: str, fn: Callable[[], Parsed | FileResult]) -> FileResult | Parsed:
        try:
            return fn()
        except DocumentError as exc:
            return FileResult(path, "failed", error=exc.reason)
        except OSError as exc:
            return FileResult(path, "failed", error=os_reason(exc))
        except Exception as exc:  # a parser bug on one file must not stop a bulk run
            log.debug("unexpected error parsing %s", path, exc_info=True)
            return FileResult(path, "failed", error=f"could not parse: {type(exc).__name__}: {exc}")

    def _write_batch(self, batch: list[Parsed]) -> Iterator[tuple[Parsed, bool]]:
        """Embed the batch, then store it a document at a time, yielding each once it is committed
        (with whether it replaced an older version)."""
        vectors = self.embedder.embed_documents([t for p in batch for t in p.embedding_texts()])
        offset = 0
        for parsed in batch:
            n = len(parsed.chunks)
            replaced = self.store.write_document(
                parsed.path, parsed.content_hash, parsed.chunks, vectors[offset : offset + n], pages=parsed.pages
            )
            offset += n
            yield parsed, replaced


def _prefetch(items: Iterator[FileResult | Parsed], *, ahead: int) -> Iterator[FileResult | Parsed]:
    """Run `items` in a background thread, up to `ahead` results in advance."""
    q: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    end = object()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)
            return
        put(end)

    thread = threading.Thread(target=produce, name="citeqa-parse", daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not end:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()  # the consumer stopped early (an error downstream): let the thread end
        thread.join()

