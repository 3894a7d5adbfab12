"""Plain data passed between citeqa's parts. Every type is a frozen dataclass."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Literal

from citeqa.core.tables import RowPassage, Table, read_row, table_name

if TYPE_CHECKING:
    import numpy as np

# Conversation turns, oldest first: ("user", question) and ("assistant", answer) pairs.
History = Sequence[tuple[str, str]]


def where(source: str, page: int | None = None, location: str = "", *, full_path: bool = False) -> str:
    """How citeqa names a place in a document: "report.pdf, p. 7", "deck.pptx, slide 3",
    "notes.md". The one place this is spelled out."""
    name = source if full_path else PurePath(source).name
    if page:
        table = table_name(location)  # a table row's passage: "Table 4, report.pdf, p. 7"
        return f"{table + ', ' if table else ''}{name}, p. {page}"
    return f"{name}, {location}" if location else name


@dataclass(frozen=True)
class Page:
    """Text of one page (or slide, or section) of a source file. `page` is 1-based for PDFs and
    None for files without pages; `location` names the place where there is no page number
    ("slide 7", "section 'Warranty'"), and is empty otherwise. `tables`: the tables found on it,
    whose cells are left out of `text` (each row is indexed as a passage of its own)."""

    text: str
    page: int | None
    location: str = ""
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True)
class Document:
    """A parsed source file, before chunking. `ocr_pages`: how many pages OCR read."""

    path: str
    content_hash: str
    pages: tuple[Page, ...]
    warnings: tuple[str, ...] = ()
    ocr_pages: int = 0


@dataclass(frozen=True)
class Chunk:
    """A span of one page of a document; `start`/`end` are character offsets into that page's text."""

    id: str
    source: str
    page: int | None
    index: int
    start: int
    end: int
    text: str
    location: str = ""


@dataclass(frozen=True)
class Hit:
    """A chunk returned by a search, with its relevance score (higher is better)."""

    chunk_id: str
    source: str
    page: int | None
    text: str
    score: float
    index: int = 0
    location: str = ""
    # Set only when a question searched several collections: which one the passage is from.
    collection: str = ""

    def label(self, *, full_path: bool = False) -> str:
        place = where(self.source, self.page, self.location, full_path=full_path)
        return f"{self.collection}: {place}" if self.collection else place

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "page": self.page,
            "location": self.location,
            "text": self.text,
            "score": round(self.score, 6),
            "chunk_id": self.chunk_id,
            **({"collection": self.collection} if self.collection else {}),
        }


@dataclass(frozen=True)
class Retrieved:
    """Hits in rank order, and `relevance`: the best cosine similarity between the query and any
    sentence of the passages returned, whatever the ranking mode, so one abstention threshold
    serves every mode (and a reranker)."""

    query: str
    hits: tuple[Hit, ...]
    relevance: float
    mode: str  # citeqa.core.settings.RetrievalMode
    # The query's embedding (unit length), for scoring the passages' sentences against it.
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class DocumentRecord:
    """One ingested file as listed in the manifest."""

    path: str
    content_hash: str
    pages: int
    chunks: int
    ingested_at: float

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "content_hash": self.content_hash,
            "pages": self.pages,
            "chunks": self.chunks,
            "ingested_at": self.ingested_at,
        }


@dataclass(frozen=True)
class SyncedFile:
    """A file as the index holds it, in the data dir's synced record or the manifest: the content
    hash of the version stored, and its pages and chunks (what an unchanged file reports)."""

    content_hash: str
    pages: int
    chunks: int


FileStatus = Literal["added", "replaced", "unchanged", "failed", "skipped", "removed"]


@dataclass(frozen=True)
class FileResult:
    path: str
    status: FileStatus
    chunks: int = 0
    pages: int = 0
    error: str | None = None
    warnings: tuple[str, ...] = ()
    ocr_pages: int = 0  # pages whose text OCR read


@dataclass(frozen=True)
class UploadResult:
    """One uploaded file: the name it was sent under, what became of it, and a note for the user
    ("another file has this name; stored as report (2).pdf")."""

    name: str
    result: FileResult
    note: str = ""

    def to_dict(self) -> dict:
        r = self.result
        return {
            "name": self.name,
            "path": r.path or None,
            "status": r.status,
            "chunks": r.chunks,
            "pages": r.pages,
            "error": r.error,
            "note": self.note,
            "warnings": list(r.warnings),
        }


@dataclass(frozen=True)
class IngestProgress:
    """Sent after each file is settled, and once at the start with `done=0`."""

    total: int
    done: int
    chunks: int
    result: FileResult | None = None


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: files counted by status, the failures themselves, chunks written, pages
    read by OCR, and the seconds it took. Per-file results go to the progress callback as each file
    is settled, not into the report, so that memory does not grow with the number of files."""

    counts: Mapping[FileStatus, int]
    failed: tuple[FileResult, ...]
    chunks_added: int
    seconds: float
    ocr_pages: int = 0

    def count(self, status: FileStatus) -> int:
        return self.counts.get(status, 0)

    def to_dict(self) -> dict:
        return {
            "files": {
                "added": self.count("added") + self.count("replaced"),
                "unchanged": self.count("unchanged"),
                "failed": self.count("failed"),
                "skipped": self.count("skipped"),
                "removed": self.count("removed"),
            },
            "chunks_added": self.chunks_added,
            "ocr_pages": self.ocr_pages,
            "seconds": round(self.seconds, 3),
            "failed": [{"path": f.path, "error": f.error} for f in self.failed],
        }


@dataclass(frozen=True)
class Evidence:
    """A sentence of a retrieved passage that answers the question, quoted verbatim.

    `n` is the passage's 1-based number among the answer's sources (the `[n]` it is cited by);
    `quote == hit.text[start:end]`; `score` ranks evidence (question-sentence cosine plus a share of
    the question's words, see citeqa.answer.evidence)."""

    n: int
    hit: Hit
    start: int
    end: int
    quote: str
    score: float

    def label(self, *, full_path: bool = False) -> str:
        return self.hit.label(full_path=full_path)

    def to_dict(self) -> dict:
        d = {
            "n": self.n,
            "kind": "sentence",
            "source": self.hit.source,
            "page": self.hit.page,
            "location": self.hit.location,
            "quote": self.quote,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            **({"collection": self.hit.collection} if self.hit.collection else {}),
        }
        row = self.table_row()
        if row is not None:
            d.update(kind="table_row", table=table_name(self.hit.location), caption=row.caption, headers=list(row.headers))
        return d

    def table_row(self) -> RowPassage | None:
        """The row this evidence quotes, when its passage is a table's row (citeqa.core.tables)."""
        if not table_name(self.hit.location):
            return None
        row = read_row(self.hit.text)
        return row if row is not None and self.start >= row.row_start else None


@dataclass(frozen=True)
class Citation:
    """A passage the answer cites as [n], with the sentence(s) of it that best support the claim."""

    n: int
    hit: Hit
    quote: str = ""

    def to_dict(self) -> dict:
        d = {"n": self.n, **self.hit.to_dict()}
        d["quote"] = self.quote
        return d


@dataclass(frozen=True)
class Sentence:
    """A sentence the chat model wrote, the passages it cites, and whether they support it.
    `attributed`: the model cited nothing and citeqa added the marker of the passage that supports it."""

    text: str
    citations: tuple[int, ...]
    supported: bool
    score: float
    attributed: bool = False

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "citations": list(self.citations),
            "supported": self.supported,
            "score": round(self.score, 4),
            "attributed": self.attributed,
        }


@dataclass(frozen=True)
class Timings:
    """Seconds from the question: retrieval done, evidence selected, waited for the chat model
    (its turn in the queue and loading it), first generated token, the whole answer."""

    retrieve_s: float = 0.0
    evidence_s: float = 0.0
    wait_s: float | None = None
    first_token_s: float | None = None
    total_s: float = 0.0

    def to_dict(self) -> dict:
        def r(v: float | None) -> float | None:
            return None if v is None else round(v, 4)

        return {
            "retrieve_s": r(self.retrieve_s),
            "evidence_s": r(self.evidence_s),
            "wait_s": r(self.wait_s),
            "first_token_s": r(self.first_token_s),
            "total_s": r(self.total_s),
        }


# generated: evidence and at least one supported generated sentence; extractive: evidence only
# (generation off, or nothing generated was supported); abstained: the documents do not answer.
AnswerKind = Literal["generated", "extractive", "abstained"]

# Why an answer abstained (None when it did not): no passage was relevant enough; the question's
# subject (a name) occurs nowhere in the documents; passages were found but no sentence states
# what was asked; or nothing is indexed at all.
AbstainReason = Literal["no_relevant_passage", "subject_not_in_documents", "no_sentence_states_value", "no_documents"]


@dataclass(frozen=True)
class Answer:
    """`text` is exactly what the user is shown as the answer: the evidence quotes, each cited [n]
    with its file and page, then the supported generated sentences (or the one "not in your
    documents" message). `sentences` holds every generated sentence, supported or not; the
    unsupported ones are never part of `text`.

    Its parts are fields, so that no reader takes `text` apart: `quoted` is the evidence part as
    shown ("" when abstained, or when nothing was shown before a stop), `generated` the supported
    generated sentences as shown, joined by spaces ("" when none)."""

    question: str
    text: str
    abstained: bool
    sources: tuple[Hit, ...]
    citations: tuple[Citation, ...]
    sentences: tuple[Sentence, ...] = ()
    grounded: bool = False
    invalid_citations: int = 0
    timings: Timings = field(default_factory=Timings)
    standalone_question: str | None = None
    evidence: tuple[Evidence, ...] = ()
    answer_kind: AnswerKind = "extractive"
    truncated: bool = False  # generation stopped at CITEQA_MAX_TOKENS
    abstain_reason: AbstainReason | None = None
    missing_subject: str | None = None  # the name the documents never mention, when that is why
    quoted: str = ""
    generated: str = ""

    @property
    def unsupported(self) -> tuple[Sentence, ...]:
        return tuple(s for s in self.sentences if not s.supported)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "answer_kind": self.answer_kind,
            "quoted": self.quoted,
            "generated": self.generated,
            "abstained": self.abstained,
            "abstain_reason": self.abstain_reason,
            **({"missing_subject": self.missing_subject} if self.missing_subject else {}),
            "grounded": self.grounded,
            "evidence": [e.to_dict() for e in self.evidence],
            "citations": [c.to_dict() for c in self.citations],
            "sources": [{"n": i, **h.to_dict()} for i, h in enumerate(self.sources, 1)],
            "sentences": [s.to_dict() for s in self.sentences],
            "invalid_citations": self.invalid_citations,
            "truncated": self.truncated,
            "timings": self.timings.to_dict(),
            **({"standalone_question": self.standalone_question} if self.standalone_question else {}),
        }
