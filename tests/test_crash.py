"""Crash safety: an ingest killed at any point, then run again, leaves the index a clean run would have made.

Two angles:
* the real thing: `citeqa ingest` in a child process, SIGKILLed at several points (during start-up,
  after the first documents are committed while the rest are being written, later on), resumed, and
  compared with an uninterrupted run; then the same while changed files replace their old versions;
* exhaustively: a run stopped before each single write it makes to Milvus, recovered, resumed.

"Equal" means the same chunk ids, no id twice, every manifest document with exactly its own chunks,
no chunk without a document, and no document left pending.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from citeqa.engine import Citeqa
from citeqa.retrieval.store import Store
from tests.conftest import REPO, SAMPLE_DOCS, make_settings

WORDS = [
    "harbour",
    "tide",
    "ferry",
    "lighthouse",
    "keeper",
    "storm",
    "gale",
    "pier",
    "crane",
    "cargo",
    "ledger",
    "survey",
    "pelican",
    "heron",
    "marsh",
    "island",
    "channel",
    "dredge",
    "buoy",
    "beacon",
    "signal",
    "pilot",
    "anchor",
    "hull",
    "rudder",
    "sail",
    "mast",
    "rope",
    "knot",
    "winch",
    "engine",
    "boiler",
    "valve",
    "pressure",
    "gauge",
    "schedule",
    "timetable",
    "ticket",
    "passenger",
    "crew",
    "captain",
    "mate",
    "cook",
    "galley",
]


def make_corpus(root: Path, n_text: int = 40, seed: int = 7) -> Path:
    """`n_text` generated text files of 2-4 chunks each, plus the sample PDF, Markdown and text files."""
    rng = random.Random(seed)
    root.mkdir(parents=True)
    for i in range(n_text):
        paras = []
        for p in range(rng.randint(3, 6)):
            sentences = [
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize()
                + f" (record {i}.{p}.{s})."
                for s in range(rng.randint(3, 6))
            ]
            paras.append(" ".join(sentences))
        sub = root / f"part{i % 3}"
        sub.mkdir(exist_ok=True)
        (sub / f"log_{i:02d}.txt").write_text(
            f"Harbour log {i}\n\n" + "\n\n".join(paras) + "\n", encoding="utf-8"
        )
    for p in SAMPLE_DOCS.iterdir():
        shutil.copy(p, root / p.name)
    return root


def snapshot(store: Store) -> dict:
    """Everything the comparison needs, read straight from Milvus."""
    rows = list(store._query_all(store.collection, "", ["id", "source", "doc_hash"]))
    manifest = {r.path: r for r in store._iter_manifest("")}
    return {
        "rows": [(r["id"], r["source"]) for r in rows],
        "ids": [r["id"] for r in rows],
        "per_source": Counter(r["source"] for r in rows),
        "hashes": {(r["source"], r["doc_hash"]) for r in rows},
        "manifest": manifest,
    }


def assert_consistent(snap: dict) -> None:
    assert len(snap["ids"]) == len(set(snap["ids"])), "duplicate chunk ids"
    pending = [r.path for r in snap["manifest"].values() if r.pending_hash]
    assert not pending, f"documents left pending: {pending}"
    for path, row in snap["manifest"].items():
        assert snap["per_source"][path] == row.chunks, (path, snap["per_source"][path], row.chunks)
    orphans = set(snap["per_source"]) - set(snap["manifest"])
    assert not orphans, f"chunks without a document: {sorted(orphans)[:3]}"
    for source, doc_hash in snap["hashes"]:
        assert snap["manifest"][source].content_hash == doc_hash, f"stale chunks of {source}"


def assert_same_index(got: dict, clean: dict) -> None:
    assert_consistent(got)
    assert set(got["manifest"]) == set(clean["manifest"])
    for path, row in clean["manifest"].items():
        assert (got["manifest"][path].content_hash, got["manifest"][path].chunks) == (
            row.content_hash,
            row.chunks,
        ), path
    assert sorted(got["ids"]) == sorted(clean["ids"])


def open_store(data_dir: Path, embedder) -> Store:
    return Store.open(make_settings(data_dir), embed_name=embedder.name, dim=embedder.dim)


def clean_index(corpus: Path, data_dir: Path, embedder) -> dict:
    with Citeqa(make_settings(data_dir), embedder=embedder) as qa:
        report = qa.ingest([corpus])
        assert not report.failed, report.failed
        snap = snapshot(qa.store)
    assert_consistent(snap)
    return snap


# -- SIGKILL on a real `citeqa ingest` -------------------------------------------------------------


class Run:
    """`citeqa -v ingest CORPUS` in its own process group (its parser workers die with it)."""

    def __init__(self, corpus: Path, data_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
        env.update(
            CITEQA_DATA_DIR=str(data_dir), CITEQA_WORKERS="2", HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO)
        )
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "citeqa.cli", "-v", "ingest", str(corpus)],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []

    def settled(self) -> int:
        return sum(
            1 for ln in self.lines if ln.split(":", 1)[0] in {"added", "replaced", "unchanged", "failed"}
        )

    def kill_after(self, *, seconds: float | None = None, committed: int | None = None) -> None:
        """SIGKILL after `seconds`, or once `committed` more documents were reported written."""
        assert self.proc.stderr is not None
        if seconds is not None:
            time.sleep(max(0.0, seconds - (time.monotonic() - self.t0)))
        else:
            while sum(1 for ln in self.lines if ln.startswith(("added:", "replaced:"))) < (committed or 0):
                line = self.proc.stderr.readline()
                if not line:
                    pytest.fail(
                        f"ingest ended ({self.proc.wait()}) before {committed} documents: {self.lines[-5:]}"
                    )
                self.lines.append(line.rstrip("\n"))
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(60)
        self.proc.stderr.close()

    def finish(self) -> None:
        _, err = self.proc.communicate(timeout=900)
        self.lines += err.splitlines()
        assert self.proc.returncode == 0, "\n".join(self.lines[-20:])


def _versions(data_dir: Path, embedder) -> tuple[dict[str, str], int]:
    """({path: committed content hash}, documents pending) as a killed run left them."""
    if not (data_dir / "milvus.db").exists():
        return {}, 0
    with open_store(data_dir, embedder) as store:
        rows = list(store._iter_manifest(""))
    return {r.path: r.content_hash for r in rows if r.content_hash}, sum(1 for r in rows if r.pending_hash)


def _kill_and_resume(corpus: Path, data_dir: Path, embedder, plan: list[dict], target: dict) -> list[tuple]:
    """Run, kill, and inspect per `plan`; then run to the end. Returns (kill, done, pending) per kill,
    `done` counting the documents that needed work and were at their target version."""
    want = {p: r.content_hash for p, r in target["manifest"].items()}
    before, _ = _versions(data_dir, embedder)
    todo = {p for p, h in want.items() if before.get(p) != h}
    states = []
    for kill in plan:
        run = Run(corpus, data_dir)
        run.kill_after(**kill)
        committed, pending = _versions(data_dir, embedder)
        states.append((kill, sum(1 for p in todo if committed.get(p) == want[p]), pending))
    Run(corpus, data_dir).finish()
    # at least one kill must have landed mid-ingest, or this test proved nothing
    assert any(0 < done < len(todo) for _, done, _ in states), (len(todo), states)
    return states


@pytest.mark.slow
def test_sigkill_at_several_points_then_resume(tmp_path: Path, embedder) -> None:
    corpus = make_corpus(tmp_path / "corpus")
    total = sum(1 for p in corpus.rglob("*") if p.is_file())
    clean = clean_index(corpus, tmp_path / "clean", embedder)
    assert len(clean["manifest"]) == total

    data = tmp_path / "data"
    plan = [
        {"seconds": 1.5},  # during start-up: imports, model load
        {"committed": 1},  # the first document is committed; the rest of its batch is being written
        {"committed": 12},
        {"committed": 1},
    ]
    _kill_and_resume(corpus, data, embedder, plan, clean)
    with open_store(data, embedder) as store:
        assert_same_index(snapshot(store), clean)

    # Changed files replace their old versions: the same, with versions that share most chunks.
    changed = sorted(corpus.rglob("log_*.txt"))[::2]  # 20 files: a few write batches, so a kill lands between them
    for p in changed:
        with p.open("a", encoding="utf-8") as fh:
            fh.write("\nAddendum: the harbour master signed this log again after the storm.\n")
    clean2 = clean_index(corpus, tmp_path / "clean2", embedder)
    assert {
        p for p, r in clean2["manifest"].items() if r.content_hash != clean["manifest"][p].content_hash
    } == {str(p) for p in changed}
    _kill_and_resume(corpus, data, embedder, [{"committed": 1}, {"committed": 1}], clean2)
    with open_store(data, embedder) as store:
        assert_same_index(snapshot(store), clean2)


# -- a run stopped before each write, in process ---------------------------------------------------


class Crash(BaseException):
    """Not an Exception: nothing in the pipeline may catch it, as nothing catches SIGKILL."""


WRITES = {"upsert", "insert", "delete"}


def _crash_after(store: Store, n: int) -> list[str]:
    """Make `store` die before its (n+1)-th write to Milvus; returns the log of writes made."""
    real = store.call
    done: list[str] = []

    def call(fn, *args, **kwargs):
        name = getattr(fn, "__name__", "")
        if name in WRITES:
            if len(done) >= n:
                raise Crash(f"before write {n + 1}")
            done.append(f"{name} {args[0] if args else ''}")
        return real(fn, *args, **kwargs)

    store.call = call  # type: ignore[method-assign]
    return done


def _v1(root: Path) -> Path:
    root.mkdir()
    (root / "kept.md").write_text("# Kept\n\nThe crane on pier two lifts forty tonnes.\n")
    (root / "edited.txt").write_text(
        "Timetable.\n\n"
        + "\n\n".join(
            f"Ferry {i} leaves the island pier at {6 + i}:15 every weekday morning." for i in range(30)
        )
    )
    return root


def _v2(root: Path) -> None:
    with (root / "edited.txt").open("a") as fh:  # appended: the versions share their first chunks
        fh.write("\n\nFrom June the last ferry leaves at 23:40.\n")
    (root / "new.md").write_text("# New\n\nThe lighthouse lamp was converted to electricity in 1952.\n")


@pytest.mark.slow
def test_crash_before_each_write_then_resume(tmp_path: Path, embedder) -> None:
    expected_dir = tmp_path / "expected"
    corpus = _v1(tmp_path / "corpus")
    with Citeqa(make_settings(expected_dir), embedder=embedder) as qa:
        qa.ingest([corpus])
        v1 = snapshot(qa.store)
        _v2(corpus)
        writes = _crash_after(qa.store, 10**6)
        report = qa.ingest([corpus])
        assert (report.count("replaced"), report.count("added"), report.count("unchanged")) == (1, 1, 1)
        v2 = snapshot(qa.store)
    assert_consistent(v1)
    assert_consistent(v2)
    edited = str(corpus / "edited.txt")
    assert v1["manifest"][edited].chunks > 1
    ids_of_edited = [{i for i, src in snap["rows"] if src == edited} for snap in (v1, v2)]
    assert ids_of_edited[0] & ids_of_edited[1], "the test needs versions that share chunks"
    assert ids_of_edited[1] - ids_of_edited[0]
    # one batch: pending rows, chunks, the replacement committed-but-pending, its old chunks deleted, commit
    assert len(writes) >= 5

    for n in range(len(writes)):
        data = tmp_path / f"cut{n}"
        shutil.rmtree(corpus)
        _v1(corpus)
        with Citeqa(make_settings(data), embedder=embedder) as qa:
            qa.ingest([corpus])
            _v2(corpus)
            _crash_after(qa.store, n)
            with pytest.raises(Crash):
                qa.ingest([corpus])
        with open_store(data, embedder) as store:
            store.recover()
            assert_consistent(snapshot(store))  # recovered, before any re-ingest: consistent already
        with Citeqa(make_settings(data), embedder=embedder) as qa:
            assert not qa.ingest([corpus]).failed
            assert_same_index(snapshot(qa.store), v2)
