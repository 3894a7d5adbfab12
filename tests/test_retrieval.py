"""Retrieval: modes, source filters (lite and server), diversity, relevance, abstention, reranker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from citeqa.core.errors import ConfigError
from citeqa.core.sentences import scorable_spans
from citeqa.core.settings import RETRIEVAL_MODES as MODES
from citeqa.core.settings import Settings
from citeqa.core.types import Hit
from citeqa.engine import Citeqa
from citeqa.retrieval.fusion import Fusion
from citeqa.retrieval.reranker import Reranker
from citeqa.retrieval.retriever import Retriever, diverse
from citeqa.retrieval.sources import glob_matcher, glob_to_filter
from tests.conftest import make_settings

DOCS = {
    "reports/2023/alpha_report.txt": (
        "Harrow Point lighthouse restoration.\n\n"
        "The restoration of the Harrow Point lighthouse was budgeted at 2.4 million euros in 2023. "
        "Its Fresnel lens was shipped to Glasgow for repair and came back in October."
    ),
    "notes/beta.md": (
        "# Keeper's cottage\n\n"
        "The keeper's cottage beside the Harrow Point lighthouse gets a new slate roof this summer. "
        "Volunteers repaint the lighthouse tower every spring with lime wash."
    ),
    "gamma.txt": (
        "Seabirds of Harrow Point.\n\n"
        "Arctic terns nest on the cliffs below the Harrow Point lighthouse from May to August, "
        "and puffins raise their chicks in burrows on the grassy slope."
    ),
}


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    return _write(tmp_path / "docs", DOCS)


@pytest.fixture
def qa(settings: Settings, embedder, docs: Path) -> Iterator[Citeqa]:
    """An engine over DOCS, without a chat model: retrieval needs none."""
    engine = Citeqa(settings, embedder=embedder)
    report = engine.ingest([docs])
    assert not report.failed
    try:
        yield engine
    finally:
        engine.close()


def _hit(text: str, source: str = "/d/a.txt", index: int = 0, score: float = 1.0) -> Hit:
    return Hit(
        chunk_id=f"{source}#{index}#{hash(text)}",
        source=source,
        page=None,
        text=text,
        score=score,
        index=index,
    )


# -- filters ------------------------------------------------------------------


def test_glob_to_filter_translates_globs_to_like() -> None:
    # Relative globs may match at any depth; absolute ones are anchored at the root.
    assert glob_to_filter(["reports/*.pdf"]) == 'source like "%reports/%.pdf"'
    assert glob_to_filter(["/home/me/*.txt"]) == 'source like "/home/me/%.txt"'
    assert glob_to_filter(["*.md", "x.txt"]) == 'source like "%%.md" or source like "%x.txt"'
    # LIKE's special characters (and quotes) become its any-one-character: no escapes.
    assert glob_to_filter(['a_b%c?"d\\.txt']) == 'source like "%a_b_c__d_.txt"'


def test_glob_matcher_is_exact() -> None:
    m = glob_matcher(["reports/*.txt", "/abs/a_b%.txt", "x?.md"])
    assert m("/h/reports/2023/q1.txt") and m("reports/q.txt") and not m("/h/reports/q1.pdf")
    assert m("/abs/a_b%.txt") and not m("/abs/aXbY.txt") and not m("/other/abs/a_b%.txt")
    assert m("/d/x1.md") and not m("/d/x12.md")
    assert not glob_matcher([])("/anything")


@pytest.mark.parametrize("mode", MODES)
def test_source_filters_in_every_mode_and_backend(
    backend_settings: Settings, embedder, docs: Path, mode
) -> None:
    with Citeqa(backend_settings, embedder=embedder) as engine:
        assert not engine.ingest([docs]).failed

        def found(*globs: str) -> set[str]:
            hits = engine.search("Harrow Point lighthouse", top_k=10, mode=mode, sources=globs)
            return {Path(h.source).name for h in hits}

        assert found() == {"alpha_report.txt", "beta.md", "gamma.txt"}
        assert found("reports/*.txt") == {"alpha_report.txt"}  # relative: matches two folders down
        assert found("*.md") == {"beta.md"}
        assert found(str(docs / "gamma.txt")) == {"gamma.txt"}  # absolute
        assert found(f"{docs}/notes/*") == {"beta.md"}
        assert found("*.md", "gamma.txt") == {"beta.md", "gamma.txt"}  # several globs: any of them
        assert found("alpha_report.txt") == {"alpha_report.txt"}  # `_` is literal, not LIKE's any-char
        assert found("alpha?report.txt") == {"alpha_report.txt"}
        assert found("alphaXreport.txt") == set()
        assert found("nothing/*.pdf") == set()


# -- modes and ranking ----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_ranks_the_answering_passage_first(qa: Citeqa, mode) -> None:
    r = qa.retrieve("Which city was the lighthouse lens sent to for repair?", mode=mode, top_k=3)
    assert r.mode == mode
    assert Path(r.hits[0].source).name == "alpha_report.txt" and "Glasgow" in r.hits[0].text
    scores = [h.score for h in r.hits]
    assert scores == sorted(scores, reverse=True)
    assert 0 < len(r.hits) <= 3


def test_hybrid_fusions_and_batch_agree_with_single_queries(qa: Citeqa) -> None:
    questions = ["When do terns nest below the lighthouse?", "What roof does the cottage get?", "lens repair"]
    batch = qa.retriever.retrieve_many(questions, top_k=3)
    for q, b in zip(questions, batch, strict=True):
        one = qa.retrieve(q, top_k=3)
        assert [h.chunk_id for h in one.hits] == [h.chunk_id for h in b.hits]
        assert one.relevance == pytest.approx(b.relevance, abs=1e-5)
    rrf = qa.retriever.retrieve_many(questions, top_k=3, fusion=Fusion(kind="rrf"))
    assert [Path(r.hits[0].source).name for r in rrf] == ["gamma.txt", "beta.md", "alpha_report.txt"]
    # RRF scores are sums of 1/(k + rank) over the two legs: at most 2/(k + 1).
    assert all(0 < h.score <= 2 / 61 for r in rrf for h in r.hits)


def test_unknown_mode_is_a_config_error(qa: Citeqa) -> None:
    with pytest.raises(ConfigError, match="unknown retrieval mode"):
        qa.retrieve("anything", mode="fuzzy")  # type: ignore[arg-type]


def test_empty_index_returns_no_hits(settings: Settings, embedder) -> None:
    from citeqa.core.errors import NoDocuments

    with Citeqa(settings, embedder=embedder) as engine:
        with pytest.raises(NoDocuments):  # the engine says so (issue 24); the retriever finds nothing
            engine.retrieve("anything at all")
        for mode in MODES:
            r = engine.retriever.retrieve("anything at all", mode=mode)
            assert r.hits == () and r.relevance == 0.0 and not engine.retriever.is_relevant(r)


# -- diversity ----------------------------------------------------------------


def test_diverse_drops_duplicates_and_near_duplicates_keeps_neighbours() -> None:
    a = "The restoration of the lighthouse was budgeted at 2.4 million euros in 2023 and finished in May."
    near = a.replace("May", "June")
    other = "Arctic terns nest on the cliffs below the lighthouse from May to August every year."
    # Neighbouring chunks share only their overlap (here 6 of about 17 words).
    neighbour = (
        "finished in May. The keeper's cottage gets a new slate roof and volunteers repaint the tower."
    )
    hits = [
        _hit(a, "/d/a.txt"),
        _hit(a, "/copy/a.txt"),
        _hit(near, "/d/b.txt"),
        _hit(neighbour, "/d/a.txt", 1),
        _hit(other),
    ]
    kept = diverse(hits, 10)
    assert [h.text for h in kept] == [a, neighbour, other]
    assert diverse(hits, 2) == kept[:2]
    # A short passage wholly inside a kept longer one repeats it.
    assert diverse([_hit(a + " " + other), _hit(other)], 5) == [_hit(a + " " + other)]


def test_search_never_returns_the_same_text_twice(settings: Settings, embedder, tmp_path: Path) -> None:
    root = _write(
        tmp_path / "dup",
        {**DOCS, "copy/gamma.txt": DOCS["gamma.txt"], "copy2/gamma-v2.txt": DOCS["gamma.txt"] + " Ringed."},
    )
    with Citeqa(settings, embedder=embedder) as engine:
        assert not engine.ingest([root]).failed
        for mode in MODES:
            hits = engine.search("Where do terns nest?", top_k=5, mode=mode)
            texts = [h.text for h in hits]
            assert sum("terns" in t for t in texts) == 1, (mode, texts)
            if mode != "bm25":  # BM25 finds no other file with "terns" or "nest" in it
                # The duplicates made room for the other files.
                assert {Path(h.source).name for h in hits} >= {"alpha_report.txt", "beta.md"}


# -- relevance and abstention ---------------------------------------------------


def split_sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in scorable_spans(text)]


def test_scorable_sentences_skip_fragments() -> None:
    text = "Seabirds.\n\nArctic terns nest here. Puffins too? Yes. They raise chicks in burrows!"
    assert split_sentences(text) == ["Arctic terns nest here.", "They raise chicks in burrows!"]
    assert split_sentences("Short.") == ["Short."]


def test_relevance_is_best_sentence_cosine(qa: Citeqa, embedder) -> None:
    q = "Which city was the lighthouse lens sent to for repair?"
    r = qa.retrieve(q, top_k=2)
    sentences = [s for h in r.hits for s in split_sentences(h.text)]
    assert r.relevance == pytest.approx(max(embedder.similarity(q, sentences)), abs=1e-5)
    off_topic = qa.retrieve("Who won the 1954 football world cup?", top_k=2)
    assert off_topic.relevance < qa.settings.min_score <= r.relevance
    # Same figure whatever the ranking, so one threshold serves every mode.
    assert all(
        qa.retrieve(q, top_k=2, mode=m).relevance == pytest.approx(r.relevance, abs=1e-5) for m in MODES
    )


def test_sentence_vectors_of_chosen_sentences_only_and_cached_by_sentence(qa: Citeqa, embedder) -> None:
    hits = qa.search("Which city was the lighthouse lens sent to for repair?", top_k=2)
    full = qa.retriever.sentence_vectors(hits)
    h = hits[0]
    spans, vectors = full[h.chunk_id]
    assert list(spans) == list(scorable_spans(h.text)) and len(spans) >= 2
    batches: list[int] = []

    def embed(texts):
        batches.append(len(texts))
        return embedder.embed_documents(texts)

    fresh = Retriever.from_settings(qa.settings, qa.store, embedder)  # an empty cache
    fresh.embedder = type("Counted", (), {"embed_documents": staticmethod(embed)})()
    part = fresh.sentence_vectors(hits, only={h.chunk_id: spans[1:]})
    others = len(scorable_spans(hits[1].text))
    assert part[h.chunk_id][0] == list(spans[1:]) and batches == [len(spans) - 1 + others]
    assert np.allclose(part[h.chunk_id][1], vectors[1:], atol=1e-4)  # the same rows as embedded whole
    assert part[hits[1].chunk_id][0] == list(scorable_spans(hits[1].text))  # not in `only`: every sentence
    # Now the whole of both: only the one sentence not embedded yet is embedded, then nothing.
    again = fresh.sentence_vectors(hits)
    assert batches[1:] == [1] and np.allclose(again[h.chunk_id][1], vectors, atol=1e-4)
    fresh.sentence_vectors(hits)
    assert len(batches) == 2


class _Counting:
    """Wraps a generator method and counts calls."""

    def __init__(self, fn) -> None:
        self.fn = fn
        self.calls = 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.fn(*args, **kwargs)


def test_abstention_does_not_call_the_model(
    engine: Citeqa, docs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not engine.ingest([docs]).failed
    gen = engine.generator
    stream, complete = _Counting(gen.stream), _Counting(gen.complete)
    monkeypatch.setattr(gen, "stream", stream)
    monkeypatch.setattr(gen, "complete", complete)

    a = engine.ask("Who won the 1954 football world cup?", generate="always")
    assert a.abstained and a.citations == () and a.timings.first_token_s is None
    assert stream.calls == complete.calls == 0
    assert a.sources  # the closest passages are still shown, marked as not used

    a = engine.ask("Which city was the lighthouse lens sent to for repair?", generate="always")
    assert stream.calls == 1 and a.timings.first_token_s is not None


def test_min_score_zero_never_abstains(settings: Settings, embedder, docs: Path) -> None:
    with Citeqa(settings.model_copy(update={"min_score": 0.0}), embedder=embedder) as engine:
        engine.ingest([docs])
        r = engine.retrieve("Who won the 1954 football world cup?")
        assert r.hits and engine.retriever.is_relevant(r)


# -- reranker -----------------------------------------------------------------


@pytest.fixture(scope="session")
def cross_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real CrossEncoder saved locally: the bundled MiniLM with a fresh (untrained) scoring head.
    Its scores mean nothing, but it loads, scores and ranks as any CrossEncoder does."""
    from sentence_transformers import CrossEncoder

    from citeqa.core import bundled

    path = tmp_path_factory.mktemp("cross-encoder")
    CrossEncoder(
        str(bundled.embedder_path()), device="cpu", local_files_only=True, num_labels=1
    ).save_pretrained(str(path))
    return path


def test_reranker_off_unless_configured(tmp_path: Path) -> None:
    assert Reranker.from_settings(make_settings(tmp_path)) is None


@pytest.mark.parametrize("name", ["no-such-org/no-such-cross-encoder", "/nonexistent/cross-encoder"])
def test_reranker_that_cannot_load_is_a_config_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match=r"cannot load reranker .*CITEQA_RERANKER.*never downloads"):
        Reranker.from_settings(make_settings(tmp_path, reranker=name))


def test_reranker_orders_candidates_by_its_scores(cross_encoder_dir: Path) -> None:
    rr = Reranker(str(cross_encoder_dir), candidates=3)
    hits = [
        _hit(t, index=i, score=10.0 - i)
        for i, t in enumerate(["terns nest", "slate roof", "lens repair", "tail"])
    ]
    [out] = rr.rerank_many(["where do terns nest"], [hits])
    scores = rr._model.predict([("where do terns nest", h.text) for h in hits[:3]])
    assert [h.text for h in out[:3]] == [hits[i].text for i in np.argsort(-scores, kind="stable")]
    assert [h.score for h in out[:3]] == pytest.approx(sorted(scores.tolist(), reverse=True))
    assert out[3] == hits[3]  # beyond the candidates: untouched, after the reranked ones


def test_reranker_is_wired_into_the_retriever(
    settings: Settings, embedder, docs: Path, cross_encoder_dir: Path
) -> None:
    s = settings.model_copy(update={"reranker": str(cross_encoder_dir)})
    with Citeqa(s, embedder=embedder) as engine:
        assert isinstance(engine.retriever.reranker, Reranker)
        engine.ingest([docs])
        r = engine.retrieve("Where do terns nest?", top_k=3)
        q = "Where do terns nest?"
        expected = engine.retriever.reranker._model.predict([(q, h.text) for h in r.hits])
        assert [h.score for h in r.hits] == pytest.approx(sorted(expected.tolist(), reverse=True), abs=1e-5)


def test_retriever_from_settings_reads_defaults(settings: Settings, embedder) -> None:
    with Citeqa(settings, embedder=embedder) as engine:
        r: Retriever = engine.retriever
        assert (r.mode, r.top_k, r.min_score, r.reranker) == ("hybrid", 4, settings.min_score, None)
        assert settings.min_score == pytest.approx(0.44)
