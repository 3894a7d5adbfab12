"""CiteqaRetriever against LangChain's own standard tests for retrievers (langchain-tests), its
per-call arguments, and the README's LangChain example run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests

from citeqa.retrieval.langchain import CiteqaRetriever
from tests.conftest import REPO, SAMPLE_DOCS, make_settings


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory, embedder, generator):
    from citeqa.engine import Citeqa

    qa = Citeqa(make_settings(tmp_path_factory.mktemp("langchain") / "data"), embedder=embedder, generator=generator)
    assert not qa.ingest([SAMPLE_DOCS]).failed
    try:
        yield qa
    finally:
        qa.close()


# Its async test runs on anyio's pytest plugin (installed with anyio), which leaves the sync ones be.
@pytest.mark.anyio
class TestCiteqaRetrieverStandard(RetrieversIntegrationTests):
    @pytest.fixture(autouse=True)
    def _index(self, indexed) -> None:
        type(self).engine = indexed

    @property
    def retriever_constructor(self) -> type[CiteqaRetriever]:
        return CiteqaRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"retriever": self.engine.retriever}

    @property
    def retriever_query_example(self) -> str:
        return "What was the maximum depth of Aurora Lake?"


def test_per_call_arguments_override_the_constructors(indexed) -> None:
    r = CiteqaRetriever(retriever=indexed.retriever, k=1, sources=("*.md",))
    assert r.k == r.top_k == 1 and CiteqaRetriever(retriever=indexed.retriever, top_k=2).k == 2
    only_md = r.invoke("maximum depth of the lake")
    assert len(only_md) == 1 and only_md[0].metadata["source"].endswith(".md")
    pdf = r.invoke("maximum depth of the lake", k=3, sources=["*.pdf"], mode="dense")
    assert len(pdf) == 3 and all(d.metadata["source"].endswith(".pdf") for d in pdf)
    assert pdf[0].metadata["page"] == 2 and "47 metres" in pdf[0].page_content
    assert len(r.invoke("Kestrel warranty", mode="bm25", sources=["*.txt"])) == 0  # no such words in the minutes


def test_ainvoke_takes_the_same_arguments(indexed) -> None:
    import anyio

    r = CiteqaRetriever(retriever=indexed.retriever)

    async def ask() -> list[Document]:
        return await r.ainvoke("How long is the warranty on the Kestrel K2 grinder?", k=2, sources=["*.md"])

    docs = anyio.run(ask)
    assert len(docs) == 2 and all(d.metadata["source"].endswith(".md") for d in docs)
    assert any("3 years" in d.page_content for d in docs)


def test_the_readme_example_runs_as_written(embedder, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The README's block, with `citeqa.open()` pointed at an index of the sample documents
    through the environment, as a user's own settings would point it, and a fake chat model."""
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    from citeqa.engine import Citeqa

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### LangChain retriever", 1)[1]
    code = re.search(r"```python[^\n]*\n(.*?)```", section, re.S).group(1)
    assert "from citeqa.retrieval.langchain import CiteqaRetriever" in code
    data = tmp_path / "data"
    with Citeqa(make_settings(data), embedder=embedder) as qa:
        assert not qa.ingest([SAMPLE_DOCS]).failed
    monkeypatch.setenv("CITEQA_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    scope: dict = {"llm": FakeListChatModel(responses=["It was 47 metres deep [1]."])}
    try:
        exec(compile(code, "README.md", "exec"), scope)
    finally:
        if "qa" in scope:
            scope["qa"].close()
    docs = scope["docs"]
    assert docs and all(isinstance(d, Document) for d in docs)
    assert {"source", "page", "score", "chunk_id"} <= docs[0].metadata.keys()
    assert any("47 metres" in d.page_content for d in docs)
    assert scope["answer"] == "It was 47 metres deep [1]."
