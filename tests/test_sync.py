"""Ingest, re-ingest, change, prune and remove against real Milvus (embedded and server)."""

from __future__ import annotations

import shutil
from pathlib import Path

from citeqa.engine import Citeqa
from tests.conftest import SAMPLE_DOCS


def _write(p: Path, text: str) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_ingest_is_idempotent_and_syncs(backend_settings, embedder, tmp_path):
    docs = tmp_path / "docs"
    a = _write(docs / "a.md", "# Alpha\n\nThe alpha reactor runs at 451 kelvin during the night shift.\n")
    b = _write(docs / "sub" / "b.txt", "Beta notes.\n\nThe beta pump was replaced on 3 March after a seal failure.\n")
    qa = Citeqa(backend_settings, embedder=embedder)
    try:
        first = qa.ingest([docs])
        assert first.count("added") == 2 and not first.failed
        n_chunks = qa.store.count_chunks()
        assert n_chunks == first.chunks_added > 0

        again = qa.ingest([docs])
        assert again.count("unchanged") == 2 and again.chunks_added == 0
        assert qa.store.count_chunks() == n_chunks

        _write(a, "# Alpha\n\nThe alpha reactor now runs at 480 kelvin after the upgrade.\n")
        changed = qa.ingest([docs])
        assert changed.count("replaced") == 1 and changed.count("unchanged") == 1
        texts = " ".join(c["text"] for c in qa.store.chunks_of(str(a)))
        assert "480 kelvin" in texts and "451" not in texts
        hits = qa.search("alpha reactor temperature", top_k=2)
        assert hits[0].source == str(a) and "480" in hits[0].text

        b.unlink()
        pruned = qa.ingest([docs], prune=True)
        assert pruned.count("removed") == 1
        assert [d.path for d in qa.documents()] == [str(a)]
        assert qa.store.chunks_of(str(b)) == []

        assert qa.remove([docs], recursive=True) == [str(a)]
        assert qa.documents() == [] and qa.store.count_chunks() == 0
    finally:
        if backend_settings.milvus_uri:
            qa.store.drop()
        qa.close()



def test_one_folder_named_two_ways_is_one_set_of_documents(settings, embedder, tmp_path, monkeypatch):
    """`citeqa ingest ../docs` from a sibling folder and `citeqa ingest /abs/docs` name the same
    files: the second run finds them unchanged, and nothing is stored twice."""
    docs = tmp_path / "docs"
    a = _write(docs / "a.md", "# Alpha\n\nThe alpha reactor runs at 451 kelvin during the night shift.\n")
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    with Citeqa(settings, embedder=embedder) as qa:
        first = qa.ingest([Path("../docs")])
        assert first.count("added") == 1
        assert [d.path for d in qa.documents()] == [str(a)]  # stored without the ".."
        again = qa.ingest([docs])
        assert again.count("unchanged") == 1 and again.chunks_added == 0
        assert len(qa.documents()) == 1 and qa.store.count_chunks() == first.chunks_added
        assert qa.search("alpha reactor", top_k=1)[0].source == str(a)
        assert qa.remove([Path("./../docs/a.md")]) == [str(a)] and qa.documents() == []

def test_sample_docs_answerable_by_search(backend_settings, embedder, tmp_path):
    docs = tmp_path / "sample"
    shutil.copytree(SAMPLE_DOCS, docs)
    qa = Citeqa(backend_settings, embedder=embedder)
    try:
        report = qa.ingest([docs])
        assert not report.failed, report.failed
        for mode in ("dense", "bm25", "hybrid"):
            hits = qa.search("maximum depth of the lake", mode=mode, top_k=3)
            assert hits, mode
            assert hits[0].source.endswith(".pdf") and hits[0].page == 2, (mode, hits[0])
    finally:
        if backend_settings.milvus_uri:
            qa.store.drop()
        qa.close()
