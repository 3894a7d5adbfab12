"""citeqa: private, local question answering over your own documents, with page-level citations.

    import citeqa
    with citeqa.open() as qa:
        print(qa.ask("What learning rate did they use?").text)
"""

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

# The engine imports every part, and the parts import citeqa's shared modules; loading it
# lazily keeps `import ingest.pipeline` (as a spawned worker does) free of import cycles.
_ENGINE_NAMES = ("AskStream", "Citeqa", "open")


def __getattr__(name: str):
    if name in _ENGINE_NAMES:
        from citeqa import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'citeqa' has no attribute {name!r}")


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
