"""The rows citeqa writes to Milvus, and the literals of its filter expressions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from citeqa.core.types import Chunk, DocumentRecord
from citeqa.retrieval import schema


@dataclass(frozen=True)
class DocumentVersion:
    """One version of a file, ready to store: its chunks and their vectors (one row per chunk)."""

    path: str
    content_hash: str
    chunks: Sequence[Chunk]
    vectors: np.ndarray
    pages: int


@dataclass(frozen=True)
class ManifestRow:
    path: str
    content_hash: str
    pending_hash: str
    pages: int
    chunks: int
    ingested_at: float

    def record(self) -> DocumentRecord:
        return DocumentRecord(self.path, self.content_hash, self.pages, self.chunks, self.ingested_at)


def quote(value: str) -> str:
    """A string literal for a Milvus filter expression."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def manifest_row(r: dict) -> ManifestRow:
    return ManifestRow(**{k: r[k] for k in schema.MANIFEST_FIELDS})


def like_prefix(root: str) -> str:
    root = root.rstrip("/")
    return root.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "/%"
