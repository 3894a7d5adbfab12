"""Parser processes: a reader that stops making progress is killed, and the ingest goes on.

Malformed PDFs have made pypdf loop forever, again and again (its tracker has a run of such
issues and security fixes; a user cannot tell which file of a thousand it is, and a re-run hangs
on the same file). So files are read in worker processes, each telling the ingest the step it
begins (a PDF: each page, its tables, each page's OCR). A worker that begins no step for
CITEQA_PARSE_TIMEOUT seconds is killed (a loop in C code too: a regular expression, pdfium) and
a new one takes its place when there is work; its file is read again without the step that made
no progress, when the reader can leave that step out (a page, with a warning), or else reported
failed.

The workers are kept for the life of their pool's owner (an engine, or an Ingestor): `citeqa
watch`, the web app and `citeqa serve` ingest a file at a time, and starting workers per ingest
took a one-file ingest from 0.06 to 0.25 s. They start as an ingest needs them (up to the number
it allows) and stop on `close`, or at interpreter exit for an owner never closed.

Workers are forked from multiprocessing's fork server, which has imported the readers once: a
replacement starts in a fraction of a second, and no process is forked from the ingest's own,
whose embedder threads a fork can deadlock.
"""

from __future__ import annotations

import atexit
import collections
import concurrent.futures as cf
import contextlib
import functools
import logging
import multiprocessing as mp
import signal
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from citeqa.core.priority import lower_this_thread, thread_nice
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
    """What a worker needs to parse: the chunker's tokenizer and bounds, OCR, the size cap and
    read limits. Picklable: it is sent to a worker before its first job under it, not with each
    job (the worker keeps its chunker and OCR's check)."""

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


def _work(conn: Connection) -> None:
    """A worker's life: parse each job sent, telling each step it begins, until sent None."""
    from citeqa.ingest.chunker import Chunker
    from citeqa.retrieval import tokenizer as wordpieces

    # Ctrl-C reaches the whole process group: the ingest stops its workers itself, and a
    # traceback from each of them would bury its message.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    chunkers: dict[tuple[str, int, int], Chunker] = {}  # two collections may chunk differently
    setup: WorkerSetup | None = None

    def progress(step: str) -> None:
        conn.send(("step", step))

    try:
        while (message := conn.recv()) is not None:
            sent, job, nice = message
            lower_this_thread(nice)  # the ingest's priority, whichever thread started this process
            setup = sent or setup
            assert setup is not None
            key = (setup.embed_model, setup.max_tokens, setup.overlap)
            if key not in chunkers:
                chunkers[key] = Chunker(wordpieces.load(setup.embed_model), setup.max_tokens, setup.overlap)
            progress("")
            conn.send(("done", parsed_or_failed(job.path, functools.partial(_parse, chunkers[key], job, setup, progress))))
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


@dataclass(eq=False)
class _Task:
    """A job as the pool holds it: with what its worker needs, the ingest's limits and its future."""

    job: Job
    setup: WorkerSetup
    limit_s: float  # seconds without beginning a step before the worker is killed; 0: no limit
    spread: int  # workers the ingest may have started for it
    nice: int  # the ingesting thread's nice value: a server's index changes run below its readers
    future: cf.Future = field(default_factory=cf.Future)


class _Worker:
    def __init__(self, ctx: Any) -> None:
        self.conn, theirs = ctx.Pipe()
        self.process = ctx.Process(target=_work, args=(theirs,), name="citeqa-parser", daemon=True)
        with _main_left_out():
            self.process.start()
        theirs.close()
        self.task: _Task | None = None
        self.setup: WorkerSetup | None = None  # the last one sent: the worker holds it
        self.step: str | None = None  # the step under way; None until the job has begun
        self.since = 0.0  # when that step began

    def give(self, task: _Task) -> None:
        self.conn.send((None if task.setup is self.setup else task.setup, task.job, task.nice))
        self.task, self.step, self.setup = task, None, task.setup

    def kill(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


def _settle(future: cf.Future, value: Parsed | FileResult) -> None:
    with contextlib.suppress(cf.InvalidStateError):  # cancelled: its ingest stopped early
        future.set_result(value)


class Batch:
    """One ingest's files sent to a pool (`ParserPool.batch`)."""

    def __init__(self, pool: ParserPool, setup: WorkerSetup, limit_s: float, spread: int) -> None:
        self._pool, self._setup, self._limit, self._spread = pool, setup, limit_s, spread
        # Workers are forked from the process server that the pool's first ingest started: they
        # inherit that thread's priority, not this one's, so each job carries this one's.
        self._nice = thread_nice()
        # Only the unsettled ones: a settled future holds its file's chunks, and an ingest of
        # 20,000 files keeps its memory flat.
        self.pending: set[cf.Future[Parsed | FileResult]] = set()

    def submit(self, path: str, content_hash: str) -> cf.Future[Parsed | FileResult]:
        task = _Task(Job(path, content_hash), self._setup, self._limit, self._spread, self._nice)
        self.pending.add(task.future)
        task.future.add_done_callback(self.pending.discard)
        self._pool._submit(task)
        return task.future


_LIVE: weakref.WeakSet[ParserPool] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    """An owner never closed (a script that exits without `close`) leaves no parser behind.
    Registered after multiprocessing's own exit hook, so run before it: the workers are asked to
    stop, not only terminated."""
    for pool in list(_LIVE):
        pool.close()


class ParserPool:
    """Worker processes parsing files, kept between ingests; nothing starts before the first
    `submit`. Its futures never raise: a file that cannot be read is a failed FileResult."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._queue: collections.deque[_Task] = collections.deque()
        self._thread: threading.Thread | None = None
        self._closing = False

    @contextlib.contextmanager
    def batch(self, setup: WorkerSetup, limit_s: float, spread: int) -> Iterator[Batch]:
        """Files of one ingest, read with `setup`, each worker stopped after `limit_s` seconds
        without progress (0: never), starting new workers up to `spread` in all (idle ones are
        used whatever their number). On leaving, files not yet read are dropped: an ingest that
        stopped early (an error downstream, Ctrl-C) leaves the pool idle for the next one."""
        batch = Batch(self, setup, limit_s, spread)
        try:
            yield batch
        finally:
            if any([f.cancel() for f in list(batch.pending)]):
                self._wake()  # the workers busy with them are killed: nothing waits for their files

    def close(self) -> None:
        """Stop every worker: idle ones when they have read their stop, busy ones at once. The
        pool can be used again afterwards (it starts afresh)."""
        with self._lock:
            thread, self._closing = self._thread, True
            for task in self._queue:
                task.future.cancel()
            self._queue.clear()
        if thread is not None:
            self._wake()
            thread.join()
        workers, self._workers = self._workers, []
        for w in workers:
            if w.task is None:
                with contextlib.suppress(OSError):
                    w.conn.send(None)
        for w in workers:  # asked all first: they stop side by side
            if w.task is None:
                w.process.join(5)
            if w.process.is_alive():
                w.kill()
            w.conn.close()
            if w.task is not None:
                w.task.future.cancel()
        if thread is not None:
            self._wake_in.close()
            self._wake_out.close()
        with self._lock:
            self._thread, self._closing = None, False
        _LIVE.discard(self)

    # -- the supervising thread ----------------------------------------------------

    def _submit(self, task: _Task) -> None:
        with self._lock:
            if self._thread is None:
                self._start()
            self._queue.append(task)
        self._wake()

    def _start(self) -> None:
        self._ctx = mp.get_context(_START_METHOD)
        if _START_METHOD == "forkserver":
            self._ctx.set_forkserver_preload(_PRELOAD)  # once the server runs, later calls change nothing
        self._wake_in, self._wake_out = self._ctx.Pipe(duplex=False)
        self._thread = threading.Thread(target=self._supervise, name="citeqa-parsers", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    def _wake(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # closed, or never started: none to wake
            self._wake_out.send_bytes(b"")

    def _supervise(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # no future may be left waiting: the ingest would hang
            log.debug("parser pool failed", exc_info=True)
            with self._lock:
                waiting = [t.future for t in self._queue] + [w.task.future for w in self._workers if w.task is not None]
                self._queue.clear()
                workers, self._workers = self._workers, []
                pipes = (self._wake_in, self._wake_out)
                # The next file starts the pool afresh: a server's later ingests are not failed too.
                self._thread = None
            for w in workers:
                with contextlib.suppress(OSError, ValueError):
                    w.kill()
            for pipe in pipes:
                pipe.close()
            for future in waiting:
                with contextlib.suppress(cf.InvalidStateError):
                    future.set_exception(exc)

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._closing:
                    return
                self._drop_cancelled()
                self._dispatch()
                workers = list(self._workers)
            # Idle workers are watched too: one that died (killed from outside) is dropped.
            for ready in wait([self._wake_in, *(w.conn for w in workers)], timeout=self._next_deadline(workers)):
                if ready is self._wake_in:
                    while self._wake_in.poll():
                        self._wake_in.recv_bytes()
                    continue
                w = next(w for w in workers if w.conn is ready)
                try:
                    kind, value = w.conn.recv()
                except (EOFError, OSError):
                    self._replace(w, crashed=True)
                    continue
                if w.task is None:
                    continue
                if kind == "step":
                    w.step, w.since = value, time.monotonic()
                else:
                    task, w.task = w.task, None
                    _settle(task.future, value)
            now = time.monotonic()
            for w in workers:
                t = w.task
                if t is not None and t.limit_s > 0 and w.step is not None and now - w.since > t.limit_s:
                    self._replace(w, crashed=False)

    def _drop_cancelled(self) -> None:
        """Workers busy with a file whose ingest stopped are killed; its queued files dropped."""
        self._queue = collections.deque(t for t in self._queue if not t.future.cancelled())
        for w in [w for w in self._workers if w.task is not None and w.task.future.cancelled()]:
            w.task = None
            w.kill()
            self._workers.remove(w)

    def _dispatch(self) -> None:
        """Each queued file to an idle worker, starting one where the ingest allows another."""
        while self._queue:
            task = self._queue[0]
            w = next((w for w in self._workers if w.task is None), None)
            if w is None:
                if len(self._workers) >= task.spread:
                    return
                w = _Worker(self._ctx)
                self._workers.append(w)
            self._queue.popleft()
            try:
                w.give(task)
            except OSError:  # it died while idle: the file goes to another
                w.task = None
                w.kill()
                self._workers.remove(w)
                self._queue.appendleft(task)

    @staticmethod
    def _next_deadline(workers: list[_Worker]) -> float | None:
        """Seconds until the first worker under way would be past its limit; None: no such worker."""
        ends = [w.since + w.task.limit_s for w in workers if w.task is not None and w.task.limit_s > 0 and w.step is not None]
        return max(0.0, min(ends) - time.monotonic()) + 0.01 if ends else None

    def _replace(self, w: _Worker, *, crashed: bool) -> None:
        """Kill worker `w` (stalled, or already dead) and drop it; another starts when there is
        work. Its file is read again without the step that made no progress, or reported failed."""
        task, step = w.task, w.step
        w.task = None
        w.kill()
        with self._lock:
            self._workers.remove(w)
        if task is None:  # died while idle
            log.debug("an idle parser process ended (exit code %s)", w.process.exitcode)
            return
        job = task.job
        if crashed:
            code = w.process.exitcode
            log.warning("the parser process reading %s ended (exit code %s)", job.path, code)
            _settle(task.future, FileResult(job.path, "failed", error=f"its reader crashed (exit code {code})"))
        elif step and step not in job.stalled:
            log.info("%s: %s made no progress; reading the file again without it", job.path, step)
            retry = Job(job.path, job.content_hash, job.stalled | {step})
            with self._lock:
                self._queue.appendleft(_Task(retry, task.setup, task.limit_s, task.spread, task.nice, task.future))
        else:
            _settle(task.future, FileResult(job.path, "failed", error=STALLED))
