"""Sentence embeddings for chunks and queries."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.core.errors import ModelError
from citeqa.core.settings import EmbedBackend, Settings
from citeqa.retrieval import onnx_int8
from citeqa.retrieval import tokenizer as wordpieces

log = logging.getLogger(__name__)


class Embedder:
    """A sentence-transformers model, loaded from local files only.

    `name` is what the store records with a collection, so that an index is never
    queried with vectors from a different model. The backend is not part of it: the int8 ONNX
    copy computes the same model (cosine ≥ 0.98 to fp32), so an index built with one backend
    is searched correctly with the other.

    The model loads on first use: for a plain model folder the dimension and window are read
    from its config files, so a run with nothing to embed (an unchanged re-ingest,
    `citeqa docs`) never pays for it.
    """

    def __init__(
        self,
        model: str,
        *,
        name: str | None = None,
        batch_size: int = 16,
        backend: EmbedBackend = "torch",
        cache_dir: Path | None = None,
        threads: int | None = None,
    ) -> None:
        self.model = model
        self.name = name or model
        self.batch_size = batch_size
        self._st: Any = None
        self._onnx: onnx_int8.OnnxEncoder | None = None
        self._tokenizer: wordpieces.Tokenizer | None = None
        self._load_lock = threading.Lock()
        self._threads = threads
        self._cache_dir = cache_dir
        self.backend: EmbedBackend = backend
        meta = _folder_meta(model)
        if backend == "onnx-int8" and not (meta and cache_dir is not None and onnx_int8.supported(Path(model))):
            # Only plain mean-pooling folders can be exported; anything else still works in torch.
            log.info("embedding model %s: int8 ONNX not available for this model; using torch", model)
            self.backend = "torch"
        if meta is None:  # a hub name, or a folder whose layout the shortcut cannot read: load now
            self._load()
            return
        self.dim, self.max_tokens = meta

    @classmethod
    def from_settings(cls, settings: Settings) -> Embedder:
        return cls(
            settings.resolved_embed_model(),
            name=settings.embed_model_name(),
            batch_size=settings.embed_batch,
            backend=settings.embed_backend,
            cache_dir=settings.cache_dir,
            threads=settings.embed_threads,
        )

    def _load(self) -> Any:
        with self._load_lock:
            if self._st is not None or self._onnx is not None:
                return self._st or self._onnx
            if self.backend == "onnx-int8":
                assert self._cache_dir is not None
                self._onnx = self._load_onnx(self._cache_dir)
                return self._onnx
            try:
                from sentence_transformers import SentenceTransformer

                # local_files_only: citeqa must never reach for a model hub at run time.
                st = SentenceTransformer(self.model, device="cpu", local_files_only=True)
            except Exception as exc:
                raise ModelError(
                    f"cannot load embedding model {self.model!r}: {exc}. Set CITEQA_EMBED_MODEL to a local "
                    "sentence-transformers folder, or leave it empty for the bundled all-MiniLM-L6-v2"
                ) from exc
            get_dim = getattr(st, "get_embedding_dimension", None) or st.get_sentence_embedding_dimension
            dim = get_dim()
            if dim is None:
                raise ModelError(f"embedding model {self.model!r} does not report its dimension")
            if getattr(self, "dim", int(dim)) != int(dim):
                raise ModelError(f"embedding model {self.model!r}: its config says dimension {self.dim}, the model {dim}")
            self.dim: int = int(dim)
            self.max_tokens: int = int(st.max_seq_length)
            self._st = st
            return st

    def _load_onnx(self, cache_dir: Path) -> onnx_int8.OnnxEncoder:
        path = onnx_int8.ensure_exported(Path(self.model), cache_dir)
        return onnx_int8.OnnxEncoder(path, self.tokenizer, self.max_tokens, threads=self._threads)

    @property
    def tokenizer(self) -> wordpieces.Tokenizer:
        """The model's word pieces, for chunking; loading it does not load the model."""
        if self._tokenizer is None:
            self._tokenizer = wordpieces.load(self.model)
        return self._tokenizer

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        loaded = self._load()
        if isinstance(loaded, onnx_int8.OnnxEncoder):
            return loaded.encode(list(texts))
        vecs = loaded.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)

    def similarity(self, query: str, candidates: Sequence[str]) -> list[float]:
        """Cosine similarity of `query` to each candidate; used to score evidence sentences."""
        if not candidates:
            return []
        vecs = self.embed_documents([query, *candidates])
        return [float(x) for x in vecs[1:] @ vecs[0]]


# sentence-transformers modules that leave the transformer's hidden size as the embedding dimension
_SHAPE_KEEPING = {
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
}


def _folder_meta(model: str) -> tuple[int, int] | None:
    """(dimension, max tokens) of a sentence-transformers folder from its config files, or None."""
    root = Path(model)
    try:
        modules = json.loads((root / "modules.json").read_text())
        types = {m["type"] for m in modules}
        if not types <= _SHAPE_KEEPING or not {"sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling"} <= types:
            return None
        pooling = next(m for m in modules if m["type"].endswith(".Pooling"))
        dim = json.loads((root / pooling["path"] / "config.json").read_text())["word_embedding_dimension"]
        window = json.loads((root / "sentence_bert_config.json").read_text())["max_seq_length"]
        return int(dim), int(window)
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
