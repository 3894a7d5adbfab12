"""`citeqa reindex`: an index built with other settings is rebuilt from the files, and a killed
rebuild resumes; the errors that send users there name it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.cli import cli
from citeqa.core.bundled import embedder_path
from citeqa.core.errors import EmbedderMismatch
from citeqa.engine import Citeqa
from tests.conftest import SAMPLE_DOCS, make_settings


def _docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    shutil.copytree(SAMPLE_DOCS, docs)
    return docs


def test_reindex_rebuilds_with_new_chunk_settings(tmp_path: Path, embedder) -> None:
    docs = _docs(tmp_path)
    with Citeqa(make_settings(tmp_path / "data"), embedder=embedder) as qa:
        first = qa.ingest([docs])
        before = {d.path: d.chunks for d in qa.documents()}
    assert len(before) == 3 and not first.failed

    with Citeqa(make_settings(tmp_path / "data", chunk_tokens=64, chunk_overlap=8), embedder=embedder) as qa:
        # The files are unchanged, so a plain ingest keeps the old chunks; reindex rebuilds them.
        assert qa.ingest([docs]).count("unchanged") == 3
        report = qa.reindex()
        after = {d.path: d.chunks for d in qa.documents()}
        assert report.count("added") == 3 and set(after) == set(before)
        assert all(after[p] > before[p] for p in after)  # smaller chunks, more of them
        hits = qa.search("maximum depth of the lake", top_k=1)
        assert hits[0].source.endswith("aurora_lake_field_station_2023.pdf") and hits[0].page == 2


def test_another_embedder_is_refused_then_reindexed(tmp_path: Path, embedder) -> None:
    docs = _docs(tmp_path)
    data = tmp_path / "data"
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        qa.ingest([docs])
    # The same weights under another name stand in for another model: the index records the name.
    other = make_settings(data, embed_model=str(embedder_path()))
    with Citeqa(other) as qa, pytest.raises(EmbedderMismatch, match="citeqa reindex"):
        qa.documents()

    result = CliRunner().invoke(cli, ["--data-dir", str(data), "--embed-model", str(embedder_path()), "reindex", "--json"])
    assert result.exit_code == 0, result.output
    with Citeqa(other) as qa:
        assert len(qa.documents()) == 3
        assert qa.search("maximum depth of the lake", top_k=1)[0].page == 2


def test_a_killed_reindex_resumes_from_its_list(tmp_path: Path, embedder) -> None:
    docs = _docs(tmp_path)
    settings = make_settings(tmp_path / "data")
    with Citeqa(settings, embedder=embedder) as qa:
        qa.ingest([docs])
        paths = sorted(d.path for d in qa.documents())
        qa.store.drop()  # as if killed right after dropping the old index
    (settings.data_dir / "docs.reindex.txt").write_text("".join(p + "\n" for p in paths))
    with Citeqa(settings, embedder=embedder) as qa:
        assert qa.reindex().count("added") == 3
        assert sorted(d.path for d in qa.documents()) == paths
    assert not (settings.data_dir / "docs.reindex.txt").exists()
