"""citeqa: private, local question answering over your own documents, with page-level citations."""

from citeqa.engine import AskStream, Citeqa, open
from citeqa.errors import (
    CiteqaError,
    ConfigError,
    DataDirInUse,
    DocumentError,
    EmbedderMismatch,
    ModelError,
    SchemaOutdated,
    StoreError,
)
from citeqa.settings import Settings
from citeqa.types import (
    Answer,
    Chunk,
    Citation,
    Document,
    DocumentRecord,
    FileResult,
    Hit,
    IngestReport,
    Page,
    Sentence,
    Timings,
)

__all__ = [
    "Answer",
    "AskStream",
    "Chunk",
    "Citation",
    "Citeqa",
    "CiteqaError",
    "ConfigError",
    "DataDirInUse",
    "Document",
    "DocumentError",
    "DocumentRecord",
    "EmbedderMismatch",
    "FileResult",
    "Hit",
    "IngestReport",
    "ModelError",
    "Page",
    "SchemaOutdated",
    "Sentence",
    "Settings",
    "StoreError",
    "Timings",
    "open",
]
