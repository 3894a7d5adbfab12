"""An unchanged re-ingest answered from the data dir's record, and every way that record must die."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from citeqa.engine import Citeqa
from citeqa.ingest.plan import Plan
from tests.conftest import REPO, make_settings


def _docs(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "a.md").write_text("# Alpha\n\nThe alpha reactor runs at 451 kelvin during the night shift.\n")
    (root / "b.txt").write_text("Beta notes.\n\nThe beta pump was replaced on 3 March after a seal failure.\n")
    (root / "skip.csv").write_text("a,b\n1,2\n")
    return root


class Results(list):
    """The per-file results of an ingest, as its progress callback receives them."""

    def __call__(self, p) -> None:
        if p.result is not None:
            self.append(p.result)


def _statuses(results) -> list[tuple[str, str, int, int]]:
    return sorted((f.path, f.status, f.chunks, f.pages) for f in results)


def test_record_matches_the_full_path_and_dies_with_any_change(tmp_path: Path, embedder) -> None:
    docs = _docs(tmp_path / "docs")
    settings = make_settings(tmp_path / "data")
    qa = Citeqa(settings, embedder=embedder)
    assert qa.datadir is not None
    record = qa.datadir.synced_path
    name = settings.embed_model_name()

    def unchanged_report(_record: Path, embed_name: str, paths: list[Path], on_progress=None):
        recorded = qa.datadir.read_synced(embed_name)
        return None if recorded is None else Plan(paths, recorded).unchanged_report(on_progress)

    try:
        assert qa.ingest([docs]).count("added") == 2
        assert record.exists()
        quick, full = Results(), Results()
        assert unchanged_report(record, name, [docs], quick) is not None
        qa.ingest([docs], on_progress=full)
        assert _statuses(quick) == _statuses(full) and len(quick) == 3
        assert [f.status for f in quick].count("skipped") == 1

        # another embedding model, a new file, a changed file: there is work, so no quick answer
        assert unchanged_report(record, "some-other-model", [docs]) is None
        (docs / "c.md").write_text("# Gamma\n\nGamma rays were logged twice.\n")
        assert unchanged_report(record, name, [docs]) is None
        qa.ingest([docs])
        assert unchanged_report(record, name, [docs]) is not None
        (docs / "a.md").write_text("# Alpha\n\nThe alpha reactor now runs at 480 kelvin.\n")
        assert unchanged_report(record, name, [docs]) is None
        qa.ingest([docs])

        # a removed document must come back on the next ingest, so removal kills the record
        qa.remove([docs / "b.txt"])
        assert not record.exists()
        assert unchanged_report(record, name, [docs]) is None
        assert qa.ingest([docs]).count("added") == 1

        # a run killed between its first manifest write and its commit leaves no record behind
        row = qa.store.manifest_rows([str(docs / "a.md")])[str(docs / "a.md")]
        qa.store._write_manifest([dataclasses.replace(row, pending_hash="0" * 64)])
        assert not record.exists()
        assert qa.ingest([docs]).count("unchanged") == 3  # recover() undid the pending write
        assert record.exists()
    finally:
        qa.close()


def test_unchanged_rerun_starts_neither_milvus_nor_a_model(tmp_path: Path) -> None:
    docs = _docs(tmp_path / "docs")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env.update(CITEQA_DATA_DIR=str(tmp_path / "data"), CITEQA_WORKERS="1", PYTHONPATH=str(REPO))
    probe = (
        "import json, sys\n"
        "from citeqa.cli import cli\n"
        "try:\n"
        "    cli.main(['ingest', sys.argv[1], '--json'], standalone_mode=False)\n"
        "finally:\n"
        "    heavy = sorted(m for m in ('pymilvus', 'torch', 'onnxruntime', 'transformers') if m in sys.modules)\n"
        "    print(json.dumps(heavy))\n"
    )

    def run() -> tuple[dict, list[str]]:
        out = subprocess.run(
            [sys.executable, "-c", probe, str(docs)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600
        )
        assert out.returncode == 0, out.stderr[-2000:]
        report, heavy = out.stdout.strip().splitlines()[-2:]
        return json.loads(report), json.loads(heavy)

    first, heavy = run()
    assert first["files"]["added"] == 2 and "pymilvus" in heavy
    again, heavy = run()
    assert again["files"] == {"added": 0, "unchanged": 2, "failed": 0, "skipped": 1, "removed": 0}
    assert heavy == []


def test_an_ingest_hashes_each_file_once(tmp_path: Path, embedder, monkeypatch) -> None:
    """Whatever the files need (new, changed, unchanged; the quick answer tried first or not), each
    is read for its hash once per ingest, and a skipped one never. Parsing runs in this process
    (CITEQA_PARSE_TIMEOUT=0, one worker), so the spy sees a reader that hashed it again too."""
    import hashlib
    from collections import Counter

    hashed: Counter[str] = Counter()
    real = hashlib.file_digest

    def spy(f, digest, **kw):
        hashed[os.fspath(f.name)] += 1
        return real(f, digest, **kw)

    monkeypatch.setattr(hashlib, "file_digest", spy)
    docs = _docs(tmp_path / "docs")
    a, b, c = (str(docs / n) for n in ("a.md", "b.txt", "c.md"))
    with Citeqa(make_settings(tmp_path / "data", parse_timeout=0, workers=1), embedder=embedder) as qa:

        def ingest(**kw) -> dict[str, str]:
            hashed.clear()
            results = Results()
            qa.ingest([docs], on_progress=results, **kw)
            assert set(hashed.values()) == {1}, hashed
            return {Path(r.path).name: r.status for r in results}

        assert ingest() == {"a.md": "added", "b.txt": "added", "skip.csv": "skipped"}
        assert set(hashed) == {a, b}
        (docs / "b.txt").write_text("Beta notes.\n\nThe beta pump was replaced again on 9 May.\n")
        (docs / "c.md").write_text("# Gamma\n\nGamma rays were logged twice.\n")
        # the quick answer looks at a.md and b.txt before it finds work; the ingest goes on from there
        assert ingest() == {"a.md": "unchanged", "b.txt": "replaced", "c.md": "added", "skip.csv": "skipped"}
        assert set(hashed) == {a, b, c}
        assert ingest() == {"a.md": "unchanged", "b.txt": "unchanged", "c.md": "unchanged", "skip.csv": "skipped"}
        assert set(hashed) == {a, b, c}
        (docs / "a.md").write_text("# Alpha\n\nThe alpha reactor now runs at 480 kelvin.\n")
        assert ingest(prune=True) == {"a.md": "replaced", "b.txt": "unchanged", "c.md": "unchanged", "skip.csv": "skipped"}
        assert set(hashed) == {a, b, c}
