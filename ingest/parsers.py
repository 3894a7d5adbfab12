"""Parser processes: a reader that stops making progress is killed, and the ingest goes on.

Malformed PDFs have made pypdf loop forever, again and again (its tracker has a run of such
issues and security fixes; a user cannot tell which file of a thousand it is, and a re-run hangs
on the same file). So files are read in worker processes, each telling the ingest the step it
begins (a PDF: each page, its tables, each page's OCR). A worker that begins no step for
CITEQA_PARSE_TIMEOUT seconds is killed (a loop in C code too: a regular expression, pdfium) and
replaced; its file is read again without the step that made no progress, when the reader can
leave that step out (a page, with a warning), or else reported failed. The workers last the whole
ingest: one start-up per ingest, not per file.

Workers are forked from multiprocessing's fork server, which has imported the readers once: a
replacement starts in a fraction of a second, and no process is forked from the ingest's own,
whose embedder threads a fork can deadlock.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import logging
import multiprocessing as mp
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from citeqa.core.types import FileResult
from citeqa.ingest.formats.base import STALLED, ReadLimits
from citeqa.ingest.ocr import Ocr
from citeqa.ingest.parse import Parsed, parse_with, parsed_or_failed

log = logging.getLogger(__name__)

# Imported once by the fork server, not by every worker forked from it.
_PRELOAD = ["citeqa.ingest.parse", "citeqa.retrieval.tokenizer", "pypdf"]
_START_METHOD = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs to parse: the chunker's tokenizer and bounds, OCR, the size cap
    and read limits. Picklable: each worker gets a copy."""

    embed_model: str
    max_tokens: int
    overlap: int
    max_bytes: int
    limits: ReadLimits
    ocr: Ocr | None = None


@dataclass(frozen=True)
class Job:
    path: str
    content_hash: str
    stalled: frozenset[str] = frozenset()  # steps earlier tries made no progress in: left out


def _work(conn: Connection, setup: WorkerSetup) -> None:
    """A worker's life: parse each job sent, telling each step it begins, until sent None."""
    from citeqa.ingest.chunker import Chunker
    from citeqa.retrieval import tokenizer as wordpieces

    # Ctrl-C reaches the whole process group: the ingest stops its workers itself, and a
    # traceback from each of them would bury its message.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    chunker = Chunker(wordpieces.load(setup.embed_model), setup.max_tokens, setup.overlap)

    def progress(step: str) -> None:
        conn.send(("step", step))

    try:
        while (job := conn.recv()) is not None:
            progress("")
            conn.send(("done", parsed_or_failed(job.path, lambda: _parse(chunker, job, setup, progress))))
    except (EOFError, BrokenPipeError):
        return  # the ingest is gone


def _parse(chunker: Any, job: Job, setup: WorkerSetup, progress: Any) -> Parsed:
    return parse_with(
        chunker, job.path, job.content_hash, setup.max_bytes, setup.ocr, setup.limits, progress=progress, stalled=job.stalled
    )


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_left_out() -> Iterator[None]:
    """While a worker starts, the program's own script is not named to it: multiprocessing would
    run it again in the worker to rebuild `__main__`, and a user's script without an `if __name__
    == "__main__":` guard (the README's Python example) would start its work over in every
    parser. The workers need nothing from it."""
    main = sys.modules.get("__main__")
    with _MAIN_LOCK:
        saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if main is not None and k in main.__dict__}
        for k in saved:
            if k == "__spec__":
                main.__spec__ = None
            else:
                del main.__file__
        try:
            yield
        finally:
            for k, v in saved.items():
                setattr(main, k, v)


class _Worker:
    def __init__(self, ctx: Any, setup: WorkerSetup) -> None:
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_work, args=(theirs, setup), name="citeqa-parser", daemon=True)
        with _main_left_out():
            self.process.start()
        theirs.close()
        self.job: tuple[Job, cf.Future] | None = None
        self.step: str | None = None  # the step under way; None until the job has begun
        self.since = 0.0  # when that step began

    def give(self, job: Job, future: cf.Future) -> None:
        self.job, self.step = (job, future), None
        self.conn.send(job)

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


class ParserPool:
    """`size` worker processes parsing files for `submit`; `limit_s`: seconds a worker may go
    without beginning a step before it is killed (0: no limit). Its futures never raise: a file
    that cannot be read is a failed FileResult."""

    def __init__(self, size: int, setup: WorkerSetup, limit_s: float) -> None:
        self._ctx = mp.get_context(_START_METHOD)
        if _START_METHOD == "forkserver":
            self._ctx.set_forkserver_preload(_PRELOAD)  # once the server runs, later calls change nothing
        self._size = size
        self._setup = setup
        self._limit = limit_s
        self._workers: list[_Worker] = []
        self._queue: collections.deque[tuple[Job, cf.Future]] = collections.deque()
        self._lock = threading.Lock()
        self._closing = False
        self._broken: BaseException | None = None
        self._wake_in, self._wake_out = self._ctx.Pipe(duplex=False)
        self._thread = threading.Thread(target=self._supervise, name="citeqa-parsers", daemon=True)

    def __enter__(self) -> ParserPool:
        self._workers = [_Worker(self._ctx, self._setup) for _ in range(self._size)]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._closing = True
            for _, future in self._queue:
                future.cancel()
            self._queue.clear()
        self._wake()
        self._thread.join()
        for w in self._workers:
            if w.job is not None:  # the ingest stopped early (an error downstream): no need to wait
                w.kill()
                continue
            with contextlib.suppress(OSError):
                w.conn.send(None)
            w.process.join(5)
            if w.process.is_alive():
                w.kill()
        self._wake_in.close()
        self._wake_out.close()

    def submit(self, path: str, content_hash: str) -> cf.Future[Parsed | FileResult]:
        future: cf.Future[Parsed | FileResult] = cf.Future()
        with self._lock:
            if self._broken is not None:
                future.set_exception(self._broken)
                return future
            self._queue.append((Job(path, content_hash), future))
        self._wake()
        return future

    # -- the supervising thread ----------------------------------------------------

    def _wake(self) -> None:
        self._wake_out.send_bytes(b"")

    def _supervise(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # no future may be left waiting: the ingest would hang
            log.debug("parser pool failed", exc_info=True)
            with self._lock:
                self._broken = exc
                waiting = [f for _, f in self._queue] + [w.job[1] for w in self._workers if w.job is not None]
                self._queue.clear()
            for future in waiting:
                if not future.done():
                    future.set_exception(exc)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._closing:
                    return
                for i, w in enumerate(self._workers):
                    if w.job is None and self._queue:
                        job = self._queue.popleft()
                        try:
                            w.give(*job)
                        except OSError:  # it died while idle: the job goes to its replacement
                            w.job = None
                            w.kill()
                            self._workers[i] = w = _Worker(self._ctx, self._setup)
                            w.give(*job)
            busy = [w for w in self._workers if w.job is not None]
            for ready in wait([self._wake_in, *(w.conn for w in busy)], timeout=self._next_deadline(busy)):
                if ready is self._wake_in:
                    while self._wake_in.poll():
                        self._wake_in.recv_bytes()
                    continue
                w = next(w for w in busy if w.conn is ready)
                try:
                    kind, value = w.conn.recv()
                except (EOFError, OSError):
                    self._replace(w, crashed=True)
                    continue
                if kind == "step":
                    w.step, w.since = value, time.monotonic()
                else:
                    job, future = w.job  # type: ignore[misc]
                    w.job = None
                    future.set_result(value)
            if self._limit > 0:
                now = time.monotonic()
                for w in busy:
                    if w.job is not None and w.step is not None and now - w.since > self._limit:
                        self._replace(w, crashed=False)

    def _next_deadline(self, busy: list[_Worker]) -> float | None:
        """Seconds until the first worker under way would be past the limit; None: no such worker."""
        started = [w.since for w in busy if w.step is not None]
        if self._limit <= 0 or not started:
            return None
        return max(0.0, min(started) + self._limit - time.monotonic()) + 0.01

    def _replace(self, w: _Worker, *, crashed: bool) -> None:
        """Kill worker `w` (stalled, or already dead) and start another in its place; its file is
        read again without the step that made no progress, or reported failed."""
        assert w.job is not None
        (job, future), step = w.job, w.step
        w.job = None
        w.kill()
        self._workers[self._workers.index(w)] = _Worker(self._ctx, self._setup)
        if crashed:
            code = w.process.exitcode
            log.warning("the parser process reading %s ended (exit code %s)", job.path, code)
            future.set_result(FileResult(job.path, "failed", error=f"its reader crashed (exit code {code})"))
        elif step and step not in job.stalled:
            log.info("%s: %s made no progress; reading the file again without it", job.path, step)
            with self._lock:
                self._queue.appendleft((Job(job.path, job.content_hash, job.stalled | {step}), future))
        else:
            future.set_result(FileResult(job.path, "failed", error=STALLED))
