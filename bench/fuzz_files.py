"""The file readers as fuzz targets: the string is written as a .docx, .pptx or .epub, and the time
is citeqa's `load` of that file (the writing is not timed)."""

from __future__ import annotations

import html
import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.fuzz_inputs import xml_safe


class _Files:
    """A temporary folder for the readers' generated files."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="citeqa-fuzz-")
        self.n = 0

    def path(self, suffix: str) -> Path:
        self.n += 1
        return Path(self._dir.name) / f"f{self.n}{suffix}"

    def close(self) -> None:
        self._dir.cleanup()


# One per fuzzing process, open while it fuzzes (a global: the targets are called with the string only).
_files: _Files | None = None


@contextmanager
def generated_files() -> Iterator[None]:
    """A folder for the files the reader targets write, removed afterwards."""
    global _files
    _files = _Files()
    try:
        yield
    finally:
        _files.close()
        _files = None


def reader(suffix: str, write: Callable[[Path, list[str]], None]) -> Callable[[str], Callable[[], object]]:
    def target(x: str) -> Callable[[], object]:
        from citeqa.core.errors import DocumentError
        from citeqa.ingest.loaders import load

        assert _files is not None, "reader targets run inside generated_files()"
        path = _files.path(suffix)
        lines = xml_safe(x).split("\n") or [""]
        write(path, lines)

        def run() -> object:
            try:
                return load(path, max_bytes=10**9)
            except DocumentError:  # no text is an answer too; its time is what counts
                return None

        return run

    return target


def write_docx(path: Path, lines: list[str]) -> None:
    import docx

    d = docx.Document()
    for i, line in enumerate(lines):
        if line.startswith("#"):
            d.add_heading(line.lstrip("#") or "h", 1 + i % 3)
        else:
            d.add_paragraph(line)
    d.save(path)


def write_pptx(path: Path, lines: list[str]) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = lines[0][:200]
    frame = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(8), Inches(4)).text_frame
    frame.text = lines[0]
    for line in lines[1:]:
        frame.add_paragraph().text = line
    slide.notes_slide.notes_text_frame.text = "\n".join(lines[:50])
    deck.save(path)


def write_epub(path: Path, lines: list[str]) -> None:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("fuzz")
    book.set_title("Fuzz")
    book.set_language("en")
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    chapter = epub.EpubHtml(title="One", file_name="one.xhtml", lang="en")
    chapter.content = f"<html><body><h1>One</h1>{body}</body></html>"
    book.add_item(chapter)
    book.toc = [chapter]
    book.spine = [chapter]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    buf = io.BytesIO()
    epub.write_epub(buf, book)
    path.write_bytes(buf.getvalue())
