"""A LangChain retriever over citeqa's search, for users who build their own chains.

    from citeqa.retrieval.langchain import CiteqaRetriever
    retriever = CiteqaRetriever(retriever=qa.retriever, top_k=4)
    docs = retriever.invoke("What learning rate did they use?")
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from citeqa.core.settings import RetrievalMode
from citeqa.retrieval.retriever import Retriever


class CiteqaRetriever(BaseRetriever):
    """Documents carry citeqa's citation metadata: source, page, score, chunk_id."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever
    top_k: int | None = None
    mode: RetrievalMode | None = None
    sources: tuple[str, ...] = ()

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.retriever.search(query, top_k=self.top_k, mode=self.mode, sources=self.sources)
        return [
            Document(
                page_content=h.text,
                metadata={"source": h.source, "page": h.page, "score": h.score, "chunk_id": h.chunk_id},
                id=h.chunk_id,
            )
            for h in hits
        ]
