"""Pathological inputs take no longer than ordinary ones of the same size (issue 22, item 1).

Python's `re` runs in C holding the GIL: one quadratic pattern over a hostile file or glob stops
every thread of a server. Each case here is generated in the test and timed against an ordinary
input of the same size in the same run, in this thread's CPU time (a test on another worker takes
wall-clock time, not this thread's CPU time) and the best of a few interleaved tries; the bound is
2x where the quadratic code took 10x to 1000x.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from citeqa.core import bundled
from citeqa.core.errors import DocumentError, TooLarge
from citeqa.core.sentences import sentence_spans
from citeqa.ingest.chunker import Chunker
from citeqa.ingest.formats.base import clean_text
from citeqa.ingest.pipeline import parse_with
from citeqa.retrieval.sources import check_globs, glob_matcher
from citeqa.retrieval.tokenizer import load as load_tokenizer

BOUND = 2.0
_WORDS = ["the", "lake", "was", "surveyed", "in", "spring", "and", "its", "depth", "measured", "at", "forty", "points"]


def prose(n: int, seed: int = 0) -> str:
    """`n` characters of ordinary text: sentences of common words, some lines broken."""
    rnd = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < n:
        s = " ".join(rnd.choice(_WORDS) for _ in range(rnd.randint(8, 20))).capitalize() + ". "
        if rnd.random() < 0.2:
            s += "\n"
        out.append(s)
        size += len(s)
    return "".join(out)[:n]


def fill(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def best_time(fn: Callable[[], object]) -> float:
    t = time.thread_time()
    with contextlib.suppress(DocumentError):  # a page with no text left is refused: still a timed read
        fn()
    return time.thread_time() - t


def assert_linear(odd: Callable[[], object], ordinary: Callable[[], object], what: str, scale: float = 1.0, tries: int = 4) -> None:
    """`odd` within BOUND (times `scale`, see below) of `ordinary`: the best of `tries` interleaved
    runs of each. Stops early both ways: as soon as one run of `odd` is within the bound, and at
    once when a run takes more than 10 times the bound (quadratic code would take minutes more)."""
    best_odd = best_ordinary = float("inf")
    for _ in range(tries):
        best_ordinary = min(best_ordinary, best_time(ordinary))
        best_odd = min(best_odd, best_time(odd))
        limit = BOUND * scale * best_ordinary
        if best_odd <= limit or best_odd > 10 * limit:
            break
    assert best_odd <= BOUND * scale * best_ordinary, (
        f"{what}: {best_odd:.3f}s against {best_ordinary:.3f}s for an ordinary input of the same size"
    )


# -- globs ---------------------------------------------------------------------------------------


def _growth(fn: Callable[[int], object], n: int, factor: int = 4, tries: int = 5) -> float:
    """How much longer `fn(factor * n)` takes than `fn(n)`, best of `tries`: `factor` if linear."""
    small = min(best_time(lambda: fn(n)) for _ in range(tries))
    large = min(best_time(lambda: fn(factor * n)) for _ in range(tries))
    return large / small


def _finishes(fn: Callable[[], object], seconds: float = 60) -> None:
    """Fails unless `fn()` finishes within `seconds` in a forked process: a backtracking regex
    holds the GIL and cannot be stopped from another thread. (Timed there, a fresh child's first
    touches of memory made the figures uneven; `_growth` times in this process.)"""
    child = multiprocessing.get_context("fork").Process(target=fn)
    child.start()
    child.join(seconds)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail(f"still running after {seconds:.0f} s")


def _guarded_growth(fn: Callable[[int], object], n: int, factor: int = 4) -> float:
    _finishes(lambda: fn(factor * n))
    return _growth(fn, n, factor)


@pytest.mark.parametrize("pattern", ["**********%", "*a" * 40 + "*b", "?*" * 60 + "x", "*/" * 100 + "*.pdf"])
def test_globs_match_in_linear_time(pattern: str) -> None:
    # The "**********%" took 22.9 s: each `*` was a `.*` that backtracked, every further
    # star four times longer. Matching time now grows with the paths' length, not faster.
    match = glob_matcher([pattern])

    paths = {n: [f"/home/me/{'a' * n}/{i}.pdf" for i in range(100)] + ["/" + "a/" * n + "z"] for n in (4000, 16_000)}

    def match_all(n: int) -> list[bool]:
        return [match(p) for p in paths[n]]  # the paths made beforehand: only matching is timed

    growth = _guarded_growth(match_all, 4000)
    assert growth <= BOUND * 4, f"4 times longer paths took {growth:.1f} times as long"


def test_too_many_or_too_long_globs_are_refused_naming_the_setting() -> None:
    with pytest.raises(TooLarge, match="CITEQA_MAX_SOURCES") as exc:
        check_globs(["*.pdf"] * 33, max_count=32, max_chars=256)
    assert exc.value.setting == "CITEQA_MAX_SOURCES"
    with pytest.raises(TooLarge, match="CITEQA_MAX_SOURCE_CHARS"):
        check_globs(["*" * 257], max_count=32, max_chars=256)
    check_globs(["*" * 256] * 32, max_count=32, max_chars=256)
    m = glob_matcher(["[ab]*", "/x/*?.md"])
    assert m("/d/[ab]1") and not m("/d/a1")  # `[` is a literal: these globs have `*` and `?` only
    assert m("/x/y/z.md") and not m("/x/.md") and m("/x/\n.md")


# -- files: read and chunked as an ingest does ---------------------------------------------------

SIZE = 64_000


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer(str(bundled.embedder_path()))


@pytest.fixture(scope="module")
def chunker(tokenizer) -> Chunker:
    return Chunker(tokenizer, 200, 30)


def _pdf(path: Path, line: str) -> Path:
    """A one-page PDF whose text is `line`, one line however long (deflate keeps the file small)."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pageCompression=1)
    c.setFont("Helvetica", 1)
    c.drawString(10, 400, line)
    c.save()
    return path


def _html(body: str) -> str:
    return f"<html><head><title>Page</title></head><body>{body}</body></html>"


CASES: dict[str, Callable[[int], tuple[str, str]]] = {
    # name: size -> (suffix, text); each against ordinary text of the same size and format.
    "blank runs": lambda n: (".txt", "word" + fill(" \t", n - 8) + "word"),
    "blank lines": lambda n: (".txt", fill("word\n" + " " * 500 + "\n", n)),
    "a very long line": lambda n: (".txt", fill("word ", n)),
    "a very long token": lambda n: (".txt", fill("xyzzy", n)),
    "nested brackets": lambda n: (".txt", "(" * (n // 2) + ")" * (n // 2)),
    "a chain of hyphens": lambda n: (".txt", fill("a-", n) + "-\nb"),
    "CSV-like rows": lambda n: (".txt", fill("1,2,3\n", n)),
    "a hyphen chain in a PDF": lambda n: (".pdf", fill("a-", n // 4)),
    "deep HTML nesting": lambda n: (".html", _html("<div>" * (n // 11) + "text" + "</div>" * (n // 11))),
    "a long HTML paragraph of tags": lambda n: (".html", _html("<p>" + fill("<b>x</b> ", n) + "</p>")),
    # trafilatura moves a deleted element's tail onto the one before it: quadratic on a run, which
    # shows from some 10,000 elements (4 times the size: 0.5 s read where the old code took 5-10 s).
    "empty HTML paragraphs": lambda n: (".html", _html("<p>x</p>" + fill("<p></p>\n    ", 4 * n))),
    "a run of HTML asides": lambda n: (".html", _html("<p>x</p>" + fill("<aside>x</aside>\n", 4 * n))),
}


def _write(path: Path, suffix: str, text: str) -> Path:
    if suffix == ".pdf":
        return _pdf(path, text)
    if suffix == ".html" and not text.startswith("<html>"):
        text = _html("".join(f"<p>{p}</p>" for p in text.split("\n") if p.strip()))
    path.write_text(text, encoding="utf-8")
    return path


def test_pathological_files_read_and_chunk_in_linear_time(chunker: Chunker, tokenizer, tmp_path: Path) -> None:
    for case in CASES:
        _read_and_chunk(case, chunker, tokenizer, tmp_path)


def _read_and_chunk(case: str, chunker: Chunker, tokenizer, tmp_path: Path) -> None:
    suffix, text = CASES[case](SIZE)
    odd = _write(tmp_path / f"odd{suffix}", suffix, text)
    ordinary = _write(tmp_path / f"ordinary{suffix}", suffix, prose(len(text)))
    # What a file costs to ingest grows with its tokens (every one is embedded): "aaa-a-a" or "((("
    # is a token per character, prose one per five. Those are allowed their share more time.
    # A page's markup is not embedded, so a web page gets no such allowance.
    scale = 1.0 if suffix == ".html" else max(1.0, tokenizer.count(text) / tokenizer.count(prose(len(text))))
    assert_linear(
        lambda: parse_with(chunker, str(odd), "digest", 10**9),
        lambda: parse_with(chunker, str(ordinary), "digest", 10**9),
        case,
        scale,
    )


# -- text functions on their own -----------------------------------------------------------------


SENTENCE_CASES = {
    "ends rejected inside brackets": lambda n: "(" * 50 + "Fig. A) x" + fill(" (Alg. B) y", n),
    "stray glyphs after a sentence": lambda n: "word" + fill(" -", n) + " x",
    "a blank run before a glyph": lambda n: "word" + " " * n + "-x",
    "one line of sentences": lambda n: fill("Word here. ", n),
    "unclosed references": lambda n: "a. [1" + fill(",1", n),
}


def test_sentence_splitting_and_cleaning_in_linear_time() -> None:
    for case, make in SENTENCE_CASES.items():
        # Compared with itself four times as long: these texts have many more sentence ends per
        # character than prose, each costing the same, so prose of the same size is no yardstick.
        growth = _guarded_growth(lambda n, make=make: sentence_spans(make(n)), 20_000)
        assert growth <= BOUND * 4, f"{case}: 4 times the text took {growth:.1f} times as long"
    rows = "".join(f"{i},{i % 7},x\n" for i in range(1_000_000))
    ordinary = prose(len(rows))
    assert_linear(lambda: sentence_spans(clean_text(rows)), lambda: sentence_spans(clean_text(ordinary)), "a million rows")


def _word_run(path: Path, n: int) -> Path:
    """A .docx whose one paragraph is a run of `n` characters of '.' and tabs: each tab is an
    element of its own in the run (a few KB of deflated XML for 64,000 of them)."""
    import docx

    document = docx.Document()
    document.add_paragraph(fill(".\t\t", n))
    document.save(str(path))
    return path


def test_a_word_run_of_many_tabs_reads_in_linear_time(tmp_path: Path) -> None:
    """python-docx's Paragraph.text reads a run's parts through an XPath union that libxml2 merges in
    quadratic time: 16,000 characters took 0.24 s and 64,000 took 11.8 s (found by bench/fuzz.py's
    docx target, a ratio of 3.07 at its sizes). The Word reader now reads them in one pass."""
    from citeqa.ingest.loaders import load

    files = {n: _word_run(tmp_path / f"run{n}.docx", n) for n in (16_000, 64_000)}
    _finishes(lambda: load(files[64_000], max_bytes=10**9))
    growth = _growth(lambda n: load(files[n], max_bytes=10**9), 16_000, tries=3)
    assert growth <= BOUND * 4, f"4 times the run took {growth:.1f} times as long"


def test_a_word_file_of_empty_paragraphs_reads_as_fast_as_an_ordinary_one(tmp_path: Path) -> None:
    """python-docx finds a paragraph's style (the default one included) by scanning all of the
    document's styles: 0.5 ms a paragraph, so 16,000 empty ones (37 KB deflated) took 7.6 s. The
    Word reader looks each style up once per document. Against an ordinary file whose text (its
    document.xml, unpacked) is at least as large."""
    import zipfile

    import docx

    from citeqa.ingest.loaders import load

    empty = docx.Document()
    for _ in range(16_000):
        empty.add_paragraph("")
    empty.add_paragraph("The lake was surveyed in spring.")
    empty.save(str(tmp_path / "empty.docx"))
    ordinary = docx.Document()
    for p in prose(90_000).split(". "):
        ordinary.add_paragraph(p + ".")
    ordinary.save(str(tmp_path / "ordinary.docx"))

    def unpacked(name: str) -> int:
        with zipfile.ZipFile(tmp_path / name) as z:
            return z.getinfo("word/document.xml").file_size

    assert unpacked("ordinary.docx") >= unpacked("empty.docx")
    assert_linear(
        lambda: load(tmp_path / "empty.docx", max_bytes=10**9),
        lambda: load(tmp_path / "ordinary.docx", max_bytes=10**9),
        "16,000 empty Word paragraphs",
    )
