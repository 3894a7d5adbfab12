"""citeqa's exceptions.

Library code raises these; only the edges (the CLI, the web app) turn them
into user messages.

    CiteqaError
    ├── ConfigError            a setting is missing or invalid
    ├── ModelError             an embedding or chat model cannot be loaded or run
    │   ├── ModelBusy          too many questions are already waiting for the chat model
    │   ├── ModelServerError   the chat model server (CITEQA_LLM_URL) failed a request
    │   └── OcrError           the OCR engine (Tesseract) is missing or failed on a page
    ├── Refused                a request carried out as given would do more than asked (a folder
    │                          removed without `recursive`, the filesystem root or the data dir)
    ├── TooLarge               an input over a limit; the message names the setting
    ├── IngestBusy             the ingest line is full; ask again later (HTTP 429)
    ├── StoreError             Milvus cannot be reached or used
    │   ├── DataDirInUse       another process holds the embedded data dir
    │   ├── EmbedderMismatch   the collection was built with another embedder
    │   └── SchemaOutdated     the collection predates a field citeqa needs
    ├── NoDocuments            nothing is indexed yet (names the data dir and `citeqa ingest`)
    └── DocumentError          one input file cannot be ingested (names the file)
        └── DocumentTooLarge   it would unpack or render past a limit; names the setting
"""

from __future__ import annotations

from pathlib import Path


class CiteqaError(Exception):
    """Base class: every error citeqa raises on purpose."""


class ConfigError(CiteqaError):
    pass


class ModelError(CiteqaError):
    pass


class ModelBusy(ModelError):
    """The chat model's waiting line is full; the HTTP API answers 429 with Retry-After."""

    def __init__(self, waiting: int) -> None:
        super().__init__(f"the chat model is busy: {waiting} questions are waiting; ask again shortly")
        self.waiting = waiting


class ModelServerError(ModelError):
    """The OpenAI-compatible server at CITEQA_LLM_URL could not be reached, refused the request,
    does not serve the model, timed out, or cut an answer short. The message names the setting to
    check; `reason` is one of "unreachable", "auth", "model", "timeout", "cut", "http"."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class OcrError(ModelError):
    """Tesseract is missing, lacks the language asked for, or failed on an image."""


class Refused(CiteqaError):
    """A destructive request that must be made explicit, or that is never carried out."""


class TooLarge(CiteqaError):
    """An input over a configured limit; `setting` is the CITEQA_* variable that sets it, `field`
    the request's field that is too long (for the HTTP API's `param`)."""

    def __init__(self, message: str, setting: str, field: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting
        self.field = field


class IngestBusy(CiteqaError):
    """Every place in the ingest line is taken; the HTTP API answers 429 with Retry-After."""

    def __init__(self, waiting: int) -> None:
        super().__init__(
            f"ingest is busy: {waiting} uploads are already waiting (CITEQA_MAX_INGEST_WAITING); send it again shortly"
        )
        self.waiting = waiting


class StoreError(CiteqaError):
    pass


class DataDirInUse(StoreError):
    """Another process holds the embedded data dir and does not share its index with citeqa's
    other processes: `citeqa serve-db` (`served_by_serve_db`), or one that did not open its index
    within a minute (citeqa.retrieval.datadir)."""

    def __init__(
        self, data_dir: Path, pid: int | None, *, served_by_serve_db: bool = False, waited: bool = False
    ) -> None:
        who = f"PID {pid}" if pid else "another process"
        if served_by_serve_db:
            why = (
                f"data dir {data_dir} in use by {who}, `citeqa serve-db`: set CITEQA_MILVUS_URI to its address "
                "(and CITEQA_MILVUS_TOKEN if it has one), or stop it (see README, 'Several processes')"
            )
        else:
            why = (
                f"data dir {data_dir} in use by {who}{', which has not shared its index within a minute' if waited else ''}; "
                "stop it, or serve the data dir with `citeqa serve-db` and set CITEQA_MILVUS_URI "
                "(see README, 'Several processes')"
            )
        super().__init__(why)
        self.data_dir = data_dir
        self.pid = pid


class EmbedderMismatch(StoreError):
    pass


class SchemaOutdated(StoreError):
    pass


class NoDocuments(CiteqaError):
    """Nothing is indexed in the data dir's collection: a question cannot be answered, and saying
    "the documents do not contain the answer" would be wrong. Answered as 409 by the HTTP API, as
    an answer with abstain_reason "no_documents" by `citeqa ask --json`."""

    def __init__(self, where: str, collection: str) -> None:
        super().__init__(
            f"No documents are indexed in {where} (collection {collection}). Add some with `citeqa ingest PATH`."
        )
        self.where = where
        self.collection = collection


class DocumentError(CiteqaError):
    """One file could not be ingested; the message names the reason, `path` the file."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class DocumentTooLarge(DocumentError):
    """One file would unpack or render past a configured limit (a zip bomb in a .docx, a page too
    large to render); `setting` is the CITEQA_* variable that sets the limit. Checked before the
    work, so the memory is never spent."""

    def __init__(self, path: str | Path, reason: str, setting: str) -> None:
        super().__init__(path, reason)
        self.setting = setting
