"""citeqa: private, local question answering over your own documents, with page-level citations.

    import citeqa
    with citeqa.open() as qa:
        print(qa.ask("What learning rate did they use?").text)
"""

from citeqa.answer.stream import AnswerStream
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
from citeqa.core.events import Done, Draft, Event, EvidenceReady, SentenceChecked, Waiting
from citeqa.core.settings import Settings
from citeqa.core.types import (
    Answer,
    Chunk,
    Citation,
    Document,
    DocumentRecord,
    Evidence,
    FileResult,
    Hit,
    IngestReport,
    Page,
    Sentence,
    Timings,
)

# `citeqa.open()` is the public name; inside citeqa.engine, `open` stays the builtin.
from citeqa.engine import Citeqa
from citeqa.engine import open_citeqa as open

__all__ = [
    "Answer",
    "AnswerStream",
    "Chunk",
    "Citation",
    "Citeqa",
    "CiteqaError",
    "ConfigError",
    "DataDirInUse",
    "Document",
    "DocumentError",
    "DocumentRecord",
    "Done",
    "Draft",
    "EmbedderMismatch",
    "Event",
    "Evidence",
    "EvidenceReady",
    "FileResult",
    "Hit",
    "IngestReport",
    "ModelError",
    "Page",
    "SchemaOutdated",
    "Sentence",
    "SentenceChecked",
    "Settings",
    "StoreError",
    "Timings",
    "Waiting",
    "open",
]
