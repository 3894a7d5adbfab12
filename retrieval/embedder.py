"""Sentence embeddings for chunks and queries."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from citeqa.errors import ModelError
from citeqa.settings import Settings


class Embedder:
    """A sentence-transformers model, loaded from local files only.

    `name` is what the store records with a collection, so that an index is never
    queried with vectors from a different model.
    """

    def __init__(self, model: str, *, name: str | None = None, batch_size: int = 64) -> None:
        try:
            from sentence_transformers import SentenceTransformer

            # local_files_only: citeqa must never reach for a model hub at run time.
            self._model = SentenceTransformer(model, device="cpu", local_files_only=True)
        except Exception as exc:
            raise ModelError(
                f"cannot load embedding model {model!r}: {exc}. Set CITEQA_EMBED_MODEL to a local "
                "sentence-transformers folder, or leave it empty for the bundled all-MiniLM-L6-v2"
            ) from exc
        self.name = name or model
        self.batch_size = batch_size
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        dim = get_dim()
        if dim is None:
            raise ModelError(f"embedding model {model!r} does not report its dimension")
        self.dim: int = int(dim)
        self.max_tokens: int = int(self._model.max_seq_length)

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        return cls(settings.resolved_embed_model(), name=settings.embed_model_name(), batch_size=settings.embed_batch)

    @property
    def tokenizer(self):
        return self._model.tokenizer

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def similarity(self, query: str, candidates: Sequence[str]) -> list[float]:
        """Cosine similarity of `query` to each candidate; used to score evidence sentences."""
        if not candidates:
            return []
        vecs = self.embed_documents([query, *candidates])
        return [float(x) for x in vecs[1:] @ vecs[0]]
