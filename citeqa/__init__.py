"""citeqa: private, local question answering over your own documents, with page-level citations.

    import citeqa
    with citeqa.open() as qa:
        print(qa.ask("What learning rate did they use?").text)
"""

from citeqa.core.errors import (
    CiteqaError,
    ConfigError,
    DataDirInUse,
    DocumentError,
    EmbedderMismatch,
    ModelError,
    SchemaOutdated,
    StoreError,
)
from citeqa.core.settings import Settings
from citeqa.core.types import (
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
from citeqa.engine import AskStream, Citeqa, open

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
