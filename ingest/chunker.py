"""Documents → chunks bounded in the embedding model's own tokens, cut at paragraphs and sentences."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterator

from langchain_text_splitters import RecursiveCharacterTextSplitter

from citeqa.core.abbreviations import glossary
from citeqa.core.tables import located
from citeqa.core.types import Chunk, Document
from citeqa.retrieval.tokenizer import Tokenizer

# Regexes, coarsest first. Sentences come before lines because PDF text is hard-wrapped:
# its line breaks fall mid-sentence, and most sentences end at ".\n", not ". ".
SEPARATORS = [
    r"\n\n",  # paragraph
    r"(?<=[.?!])\s+",  # sentence
    r"\n",  # line
    r" ",  # word
    # No character-level "" separator: LangChain would tokenize a long run without spaces (a base64
    # image in Markdown) one character at a time; _char_windows and _token_windows cut such runs instead.
]

MAX_CHARS_PER_TOKEN = 8


class Chunker:
    def __init__(self, tokenizer: Tokenizer, max_tokens: int, overlap: int) -> None:
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        # The splitter counts bare word pieces; the model also sees [CLS] and [SEP].
        budget = max_tokens - tokenizer.num_special
        if budget < 8:
            raise ValueError(f"max_tokens={max_tokens} leaves no room for text")
        if not 0 <= overlap < budget:
            raise ValueError(f"overlap={overlap} must be below the chunk budget of {budget} tokens")
        self._budget = budget
        # Natural text runs 1-6 characters per token; this only binds on [UNK]-heavy runs (see _char_windows).
        self.max_chars = max_tokens * MAX_CHARS_PER_TOKEN
        self._splitter = RecursiveCharacterTextSplitter(
            length_function=_piece_counter(tokenizer),
            chunk_size=budget,
            chunk_overlap=overlap,
            separators=SEPARATORS,
            is_separator_regex=True,
            # "end" keeps a sentence's full stop with it rather than leading the next chunk.
            keep_separator="end",
            strip_whitespace=True,
        )

    def split(self, doc: Document) -> list[Chunk]:
        chunks: list[Chunk] = []
        # The document's words, where its tables' abbreviated headers are spelt out ("exact match
        # metric (EM)", "Natural Questions" for "NQ"): read once, only for a document with tables.
        whole = "\n".join(p.text for p in doc.pages) if any(p.tables for p in doc.pages) else ""
        for page in doc.pages:
            for start, text in self._spans(page.text):
                chunks.append(_chunk(doc.path, page.page, page.location, len(chunks), start, text))
            for table in page.tables:
                # A row is one chunk, whole, with its table's caption and headers: never cut mid-row.
                # Its offsets span the passage itself (a row has no place in the page's prose).
                where = located(page.location, table.name)
                for text in table.passages(glossary(table.headers, f"{whole}\n{table.caption}")):
                    chunks.append(_chunk(doc.path, page.page, where, len(chunks), 0, self._fitted(text)))
        return chunks

    def _fitted(self, text: str) -> str:
        """A row passage within the model's window: a caption too long for it is shortened (the
        row and headers are what must be whole)."""
        if self.count(text) <= self.max_tokens:
            return text
        caption, sep, rest = text.partition("\n\n")
        while sep and len(caption) > 20 and self.count(caption + sep + rest) > self.max_tokens:
            caption = caption[: len(caption) * 3 // 4].rstrip() + "…"
        if self.count(caption + sep + rest) <= self.max_tokens:
            return caption + sep + rest
        # A window too small for it (tests use 48 tokens): the row's line alone, cut at the window.
        row = text.rpartition("\n\n")[2]
        return next(self._token_windows(row, 0, len(row)))[1]

    def count(self, text: str) -> int:
        """Tokens as the embedding model sees them, special tokens included."""
        return self.tokenizer.count(text)

    def _spans(self, text: str) -> Iterator[tuple[int, str]]:
        cursor = 0
        for piece in self._splitter.split_text(text):
            if not piece.strip():
                continue
            # The splitter returns substrings (separators are kept, then stripped); find where.
            # Overlap means a chunk may start inside the previous one, so search from just after its start.
            start = text.find(piece, cursor)
            if start < 0:
                start = text.find(piece)
            if start < 0:
                raise AssertionError(f"splitter returned text not found in the page: {piece[:60]!r}")
            cursor = start + 1
            for a, b in self._char_windows(text, start, start + len(piece)):
                yield from self._token_windows(text, a, b)

    def _char_windows(self, text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
        """Cut text[start:end] to at most max_chars, at whitespace where there is some.

        WordPiece counts any word over 100 characters as one [UNK], so a base64 blob or a long
        hash is "short" in tokens; without this a chunk could be megabytes long."""
        limit = self.max_chars
        while end - start > limit:
            cut = next(
                (k for k in range(start + limit, start + limit // 2, -1) if text[k - 1].isspace()),
                start + limit,
            )
            yield from _trimmed(text, start, cut)
            start = cut
        yield from _trimmed(text, start, end)

    def _token_windows(self, text: str, start: int, end: int) -> Iterator[tuple[int, str]]:
        """Yield text[start:end] as is if it fits, else cut it at token boundaries until every piece does.

        The splitter sums per-piece token counts, which can differ from the count of the joined text,
        and hands back a word longer than a chunk whole."""
        piece = text[start:end]
        if self.count(piece) <= self.max_tokens:
            yield start, piece
            return
        offsets = self.tokenizer.offsets(piece)
        window = self._budget
        i = 0
        while i < len(offsets):
            j = min(i + window, len(offsets))
            a, b = offsets[i][0], offsets[j - 1][1]
            # Re-tokenising a cut can yield more pieces than it had in context; shrink until it fits.
            if j - i > 1 and self.count(piece[a:b]) > self.max_tokens:
                window = max(1, window - max(1, (j - i) // 8))
                continue
            for a2, b2 in _trimmed(piece, a, b):
                yield start + a2, piece[a2:b2]
            i = j
            window = self._budget


# Pieces up to this long are counted once per chunker. The splitter counts every piece it splits a
# text into, twice; a text of short repeated pieces ("1,2,3" rows, a long line of words, "a. a. a.")
# then cost 2-3 times as much as prose of the same size, all in the tokenizer's per-call overhead.
_CACHED_PIECE_CHARS = 40


def _piece_counter(tokenizer: Tokenizer) -> Callable[[str], int]:
    """The splitter's length function: word pieces without [CLS]/[SEP], short pieces cached."""

    @functools.lru_cache(maxsize=4096)
    def short(text: str) -> int:
        return tokenizer.count(text, special=False)

    def count(text: str) -> int:
        return short(text) if len(text) <= _CACHED_PIECE_CHARS else tokenizer.count(text, special=False)

    return count


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """(start, end) narrowed to exclude surrounding whitespace; nothing if only whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start < end:
        yield start, end


def _chunk(source: str, page: int | None, location: str, index: int, start: int, text: str) -> Chunk:
    # The location is part of the id for formats without pages: two slides may start with the same text.
    where = f"{page}\x00{location}" if location else f"{page}"
    digest = hashlib.sha256(f"{source}\x00{where}\x00{start}\x00{text}".encode()).hexdigest()[:32]
    return Chunk(
        id=digest, source=source, page=page, index=index, start=start, end=start + len(text), text=text, location=location
    )
