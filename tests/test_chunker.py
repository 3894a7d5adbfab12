"""ingest.chunker with the bundled embedder's real tokenizer, on the sample docs and real PDFs."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest

from citeqa.core import bundled
from citeqa.core.errors import ModelError
from citeqa.core.tables import read_row, table_name
from citeqa.core.types import Document, Page
from citeqa.ingest.chunker import Chunker
from citeqa.ingest.loaders import load
from citeqa.retrieval.tokenizer import load as load_tokenizer

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DOCS = REPO / "sample_docs"
PDFS = REPO.parent / "shared" / "corpus" / "pdfs"
CAP = 100 * 2**20


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(str(bundled.embedder_path()))


@pytest.fixture(scope="module")
def corpus_docs() -> list[Document]:
    if not PDFS.is_dir():
        pytest.skip(f"../shared/corpus not found: {PDFS}")
    return [load(p, max_bytes=CAP) for p in sorted(PDFS.glob("*.pdf"))]


def _sample_docs() -> list[Document]:
    return [
        load(p, max_bytes=CAP) for p in sorted(SAMPLE_DOCS.iterdir()) if p.suffix in {".pdf", ".md", ".txt"}
    ]


def _check(doc: Document, chunks, chunker: Chunker) -> None:
    """The invariants every chunk of every document must hold."""
    pages = {p.page: p.text for p in doc.pages}
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert len({c.id for c in chunks}) == len(chunks)
    for c in chunks:
        assert c.source == doc.path
        if table_name(c.location):  # a table row's passage: caption, headers and the row, whole
            assert read_row(c.text) is not None and c.start == 0
        else:
            assert pages[c.page][c.start : c.end] == c.text  # so never across pages either
        assert c.text.strip() == c.text and c.text
        assert chunker.count(c.text) <= chunker.max_tokens
        assert len(c.text) <= chunker.max_chars
        where = f"{c.page}\x00{c.location}" if c.location else f"{c.page}"  # a table row's names its table
        expected = hashlib.sha256(f"{c.source}\x00{where}\x00{c.start}\x00{c.text}".encode()).hexdigest()[
            :32
        ]
        assert c.id == expected


def test_sample_docs(tokenizer) -> None:
    chunker = Chunker(tokenizer, 64, 8)
    docs = _sample_docs()
    assert len(docs) == 3
    for doc in docs:
        chunks = chunker.split(doc)
        _check(doc, chunks, chunker)
        assert chunks
        if doc.path.endswith(".pdf"):
            # Page order, and every page contributes: the report's pages are short.
            assert sorted({c.page for c in chunks}) == [1, 2, 3]
            assert [c.page for c in chunks] == sorted(c.page for c in chunks)
        else:
            assert {c.page for c in chunks} == {None}


def test_ids_stable_across_runs(tokenizer) -> None:
    first = [c for d in _sample_docs() for c in Chunker(tokenizer, 64, 8).split(d)]
    second = [
        c
        for d in _sample_docs()
        for c in Chunker(load_tokenizer(str(bundled.embedder_path())), 64, 8).split(d)
    ]
    assert first == second


def test_ids_depend_on_source(tokenizer) -> None:
    page = (Page("Same words in two files.", None),)
    a = Chunker(tokenizer, 64, 8).split(Document("/a.txt", "h", page))
    b = Chunker(tokenizer, 64, 8).split(Document("/b.txt", "h", page))
    assert a[0].text == b[0].text and a[0].id != b[0].id


def test_token_bound_over_corpus(tokenizer, corpus_docs: list[Document]) -> None:
    for max_tokens, overlap in [(256, 32), (200, 30), (48, 6)]:
        chunker = Chunker(tokenizer, max_tokens, overlap)
        total = 0
        for doc in corpus_docs:
            chunks = chunker.split(doc)
            _check(doc, chunks, chunker)
            # Coverage: every page has chunks, and in reading order.
            assert sorted({c.page for c in chunks}) == [p.page for p in doc.pages]
            total += len(chunks)
        assert total > 200


def test_chunks_end_at_sentences_in_hard_wrapped_pdf_text(tokenizer, corpus_docs: list[Document]) -> None:
    # PDF lines break mid-sentence; cutting at sentence ends first keeps most chunks whole sentences.
    chunker = Chunker(tokenizer, 200, 30)
    # (a table's row is a passage of its own, ending with its last cell: not cut prose)
    chunks = [c for d in corpus_docs for c in chunker.split(d) if not table_name(c.location)]
    ends = sum(c.text[-1] in ".?!" for c in chunks)
    assert ends / len(chunks) > 0.6


def test_paragraphs_are_kept_whole(tokenizer) -> None:
    paragraphs = [
        " ".join(f"Paragraph {p} sentence {s} talks about topic {p}." for s in range(8)) for p in range(4)
    ]
    chunker = Chunker(tokenizer, 100, 10)
    assert all(60 < chunker.count(p) < 100 for p in paragraphs), "fixture: one paragraph per chunk"
    doc = Document("/notes.md", "h", (Page("\n\n".join(paragraphs), None),))
    assert [c.text for c in chunker.split(doc)] == paragraphs


def test_wrapped_lines_split_at_sentence_ends(tokenizer) -> None:
    sentences = [f"Sentence number {i} describes a measured value of {i * 7} units." for i in range(40)]
    text = " ".join(sentences)
    # Hard-wrap at 50 columns, as PDF extraction does.
    lines, line = [], ""
    for word in text.split():
        if len(line) + len(word) + 1 > 50:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    doc = Document("/r.pdf", "h", (Page("\n".join(lines), 1),))
    chunker = Chunker(tokenizer, 64, 0)
    chunks = chunker.split(doc)
    _check(doc, chunks, chunker)
    assert len(chunks) > 5
    assert all(c.text.endswith(".") for c in chunks)


def test_overlap_repeats_text_between_neighbours(tokenizer) -> None:
    text = " ".join(f"Fact {i} is that item {i} weighs {i + 3} kilograms." for i in range(60))
    doc = Document("/f.txt", "h", (Page(text, None),))
    chunks = Chunker(tokenizer, 64, 16).split(doc)
    assert len(chunks) > 3
    assert all(b.start < a.end for a, b in itertools.pairwise(chunks))


def test_text_without_spaces_is_bounded(tokenizer) -> None:
    text = "See https://example.org/" + "x/" * 900 + " for more.\n\nNext paragraph."
    doc = Document("/url.md", "h", (Page(text, None),))
    chunker = Chunker(tokenizer, 64, 8)
    chunks = chunker.split(doc)
    _check(doc, chunks, chunker)
    assert len(chunks) > 10


def test_unk_blob_is_bounded_in_characters(tokenizer) -> None:
    # WordPiece makes any word over 100 characters a single [UNK]: a 1 MB base64 image in Markdown
    # is "3 tokens" long. Chunks must stay small enough to store (and quick to tokenize).
    blob = "Intro.\n\n![fig](data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUg" * 50_000 + ") after"
    doc = Document("/img.md", "h", (Page(blob, None),))
    chunker = Chunker(tokenizer, 256, 32)
    chunks = chunker.split(doc)
    _check(doc, chunks, chunker)
    assert max(len(c.text.encode()) for c in chunks) <= 256 * 8 * 4


def test_oversize_piece_is_resplit(tokenizer, monkeypatch: pytest.MonkeyPatch) -> None:
    # Simulate a splitter that misjudges lengths: hand back each page whole.
    doc = load(SAMPLE_DOCS / "aurora_lake_field_station_2023.pdf", max_bytes=CAP)
    chunker = Chunker(tokenizer, 40, 0)
    monkeypatch.setattr(chunker._splitter, "split_text", lambda text: [text])
    chunks = chunker.split(doc)
    _check(doc, chunks, chunker)
    for page in doc.pages:
        # Nothing but whitespace is lost between consecutive pieces.
        mine = [c for c in chunks if c.page == page.page]
        pos = 0
        for c in mine:
            assert page.text[pos : c.start].strip() == ""
            pos = c.end
        assert page.text[pos:].strip() == ""


def test_whitespace_pages_give_no_chunks(tokenizer) -> None:
    doc = Document("/e.pdf", "h", (Page("   \n\n  ", 1), Page("Real text here.", 2)))
    chunks = Chunker(tokenizer, 64, 8).split(doc)
    assert [(c.page, c.index, c.text) for c in chunks] == [(2, 0, "Real text here.")]


def test_missing_tokenizer_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="cannot load the tokenizer"):
        load_tokenizer(str(tmp_path / "no-such-model"))


def test_rejects_impossible_settings(tokenizer) -> None:
    with pytest.raises(ValueError):
        Chunker(tokenizer, 4, 0)
    with pytest.raises(ValueError):
        Chunker(tokenizer, 64, 62)


def test_no_length_warning_on_long_pages(tokenizer, capfd: pytest.CaptureFixture[str]) -> None:
    # Measuring a whole page is longer than the model's window; that must not print a warning.
    doc = Document("/long.txt", "h", (Page("Intro.\n\n" + "word " * 3000, None),))
    Chunker(tokenizer, 64, 8).split(doc)
    assert capfd.readouterr().err == ""
