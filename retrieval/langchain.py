"""A LangChain retriever over citeqa's search, for users who build their own chains.

    import citeqa
    from citeqa.retrieval.langchain import CiteqaRetriever

    qa = citeqa.open()
    retriever = CiteqaRetriever(retriever=qa.retriever, k=4)
    docs = retriever.invoke("What learning rate did they use?")
    docs = retriever.invoke("...", k=2, sources=["reports/*.pdf"], mode="bm25")

LangChain's conventions, as its standard retriever tests (langchain-tests) check them: the number
of results is `k`, in the constructor and per call (`top_k` is kept as an alias), and `ainvoke`
has its own path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import AliasChoices, ConfigDict, Field

from citeqa.core.settings import RetrievalMode
from citeqa.core.types import Hit
from citeqa.retrieval.retriever import Retriever


class CiteqaRetriever(BaseRetriever):
    """Documents carry citeqa's citation metadata: source, page, location, score, chunk_id.

    `k`, `mode` and `sources` set in the constructor are the defaults of every call; a call's own
    (`invoke(query, k=1, sources=[...], mode="bm25")`) override them for that call."""

    model_config = ConfigDict(arbitrary_types_allowed=True, populate_by_name=True)

    retriever: Retriever
    k: int | None = Field(
        None, ge=1, le=100, validation_alias=AliasChoices("k", "top_k"), description="results; empty: CITEQA_TOP_K"
    )
    mode: RetrievalMode | None = None
    sources: tuple[str, ...] = ()

    @property
    def top_k(self) -> int | None:
        """The former name of `k`."""
        return self.k

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        sources: Sequence[str] | None = None,
        mode: RetrievalMode | None = None,
    ) -> list[Document]:
        return self._search(query, k, sources, mode)

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        sources: Sequence[str] | None = None,
        mode: RetrievalMode | None = None,
    ) -> list[Document]:
        # The embedder and milvus-lite's client are synchronous: the search runs in a worker
        # thread, so the event loop (an agent's other tools, a server's other requests) goes on.
        return await asyncio.to_thread(self._search, query, k, sources, mode)

    def _search(
        self, query: str, k: int | None, sources: Sequence[str] | None, mode: RetrievalMode | None
    ) -> list[Document]:
        hits = self.retriever.search(
            query,
            top_k=k or self.k,
            mode=mode or self.mode,
            sources=tuple(self.sources if sources is None else ([sources] if isinstance(sources, str) else sources)),
        )
        return [to_document(h) for h in hits]


def to_document(h: Hit) -> Document:
    metadata = {"source": h.source, "page": h.page, "score": h.score, "chunk_id": h.chunk_id}
    if h.location:
        metadata["location"] = h.location
    return Document(page_content=h.text, metadata=metadata, id=h.chunk_id)
