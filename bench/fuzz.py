"""Fuzz the text handling that untrusted input reaches for time that grows faster than linearly.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/fuzz.py [--inputs 100000] [--seed 0] [--only clean_text,globs]

Hypothesis generates short strings, from tokens that matter to the code under test (blanks, line
breaks, hyphens, dots, brackets, stars, tags, question words) and from any characters. Each is
repeated to about `base` characters and to K times that, and the target is timed on both: a
linear target takes about K times as long on the longer, a quadratic one K² times. The ratio
printed is t(K·n) / (K · t(n)): about 1 when linear, about K when quadratic. Times are the
thread's CPU time, which other processes on a busy machine do not add to (wall time under a load
of 8 on 2 cores flagged linear inputs at 6×: the longer run is preempted more often). An input
whose first ratio is over 2 is timed again, best of several tries. The targets' inputs are shared
out to `--jobs` processes (the CPU count by default), each its own share of every target. Issue 22's "Why" cases (blank runs, hyphen chains, starred globs) are all
found by it on the code before the fixes; see bench/README.md.

`check(n, seed)` is the same run in-process, for the slow test (tests/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import gc
import html
import io
import math
import multiprocessing
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

K = 8
CONFIRM_ABOVE = 2.0

# Tokens each target treats specially; hypothesis strings are runs of them, or any characters.
_TOKENS = [
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\f",
    "-",
    "-\n",
    "‐",
    "­",
    ".",
    ". ",
    "...",
    "e.g.",
    "Mr.",
    "U.S.",
    "Fig.",
    "?",
    "!",
    "(",
    ")",
    "[",
    "]",
    "[1]",
    "{",
    "}",
    '"',
    "'",
    "*",
    "**",
    "?*",
    "/",
    "\\",
    "%",
    "_",
    ",",
    ";",
    ":",
    "a",
    "a-",
    "word",
    "Word",
    "K2",
    "1999",
    "3.5",
    "12%",
    "What",
    "When",
    "Who",
    "How many",
    "is",
    "the",
    "of",
    "on",
    "Osprey",
    "O3",
    "Table 2:",
    "|",
    "#",
    "- ",
    "• ",
    "<p>",
    "</p>",
    "<div>",
    "</div>",
    "<b>",
    "<table><tr><td>",
    "</td></tr></table>",
    "<h1>",
    "</h1>",
    "&amp;",
    "<!--",
    "-->",
    "<br>",
    "é",
    "ﬁ",
    "\u00a0",
    "\ue000",
    "\x00",
]
TEXT = st.one_of(
    st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=12).map("".join),
    st.text(min_size=1, max_size=24),
)


def _repeated(s: str, chars: int) -> tuple[str, str]:
    """`s` repeated to about `chars` characters, and K times that many repetitions."""
    n = max(1, math.ceil(chars / len(s)))
    return s * n, s * (n * K)


def _xml_safe(s: str) -> str:
    """What python-docx, python-pptx and lxml accept in text (no control characters but tab and
    line break, no lone surrogates)."""
    return "".join(
        ch
        for ch in s
        if ch in "\t\n" or (ch >= " " and not 0xD800 <= ord(ch) <= 0xDFFF and ch not in "\ufffe\uffff")
    )


# -- targets: each takes the repeated string and returns a callable to time ---------------------


def _clean_text(x: str) -> Callable[[], object]:
    from citeqa.ingest.formats.base import clean_text

    return lambda: clean_text(x)


def _sentences(x: str) -> Callable[[], object]:
    from citeqa.core.sentences import sentence_spans

    return lambda: sentence_spans(x)


def _hyphens(x: str) -> Callable[[], object]:
    from citeqa.ingest.formats.hyphens import dehyphenate

    return lambda: dehyphenate([x, x[: len(x) // 2]])


def _globs(x: str, pattern: str) -> Callable[[], object]:
    """The path is the repeated string; the glob is the short one (its length is capped by
    CITEQA_MAX_SOURCE_CHARS), as a request's `sources` and a stored path meet."""
    from citeqa.retrieval.sources import glob_matcher, glob_to_filter

    def run() -> object:
        glob_to_filter([pattern])
        return glob_matcher([pattern, "*" + pattern])("/" + x)

    return run


def _question(x: str) -> Callable[[], object]:
    from citeqa.answer import asked as a

    return lambda: (a.names(x), a.answer_type(x), a.focus(x))


def _answers(x: str, question: str) -> Callable[[], object]:
    """`answers` on a long sentence, for a question read from the short string."""
    from citeqa.answer.asked import asked
    from citeqa.answer.stated import answers

    what = asked("What is the " + question[:60] + "?")
    return lambda: answers(what, x, near=x[: len(x) // 4])


def _html(x: str) -> Callable[[], object]:
    from citeqa.ingest.formats import web

    data = f"<html><head><title>t</title></head><body><article><h1>Fuzz</h1><p>{x}</p></article></body></html>".encode(
        "utf-8", "replace"
    )
    return lambda: web.extract(data).pages()


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


FILES: _Files | None = None


def _reader(suffix: str, write: Callable[[Path, list[str]], None]) -> Callable[[str], Callable[[], object]]:
    def target(x: str) -> Callable[[], object]:
        from citeqa.core.errors import DocumentError
        from citeqa.ingest.loaders import load

        assert FILES is not None
        path = FILES.path(suffix)
        lines = [ln for ln in _xml_safe(x).split("\n")] or [""]
        write(path, lines)

        def run() -> object:
            try:
                return load(path, max_bytes=10**9)
            except DocumentError:  # no text is an answer too; its time is what counts
                return None

        return run

    return target


def _write_docx(path: Path, lines: list[str]) -> None:
    import docx

    d = docx.Document()
    for i, line in enumerate(lines):
        if line.startswith("#"):
            d.add_heading(line.lstrip("#") or "h", 1 + i % 3)
        else:
            d.add_paragraph(line)
    d.save(path)


def _write_pptx(path: Path, lines: list[str]) -> None:
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


def _write_epub(path: Path, lines: list[str]) -> None:
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


@dataclass(frozen=True)
class Target:
    name: str
    make: Callable[..., Callable[[], object]]
    weight: float  # share of the inputs
    base: int  # characters of the shorter input
    pair: bool = False  # make takes (repeated, short) as well


TARGETS = (
    # Weights: about 5 minutes for 100,000 inputs on 2 cores (a reader's input costs 20-100 ms, a
    # string function's 1-2 ms).
    Target("clean_text", _clean_text, 0.23, 1000),
    Target("sentences", _sentences, 0.17, 1000),
    Target("hyphens", _hyphens, 0.17, 1000),
    Target("globs", _globs, 0.23, 1000, pair=True),
    Target("question", _question, 0.08, 300),
    Target("answers", _answers, 0.08, 300, pair=True),
    Target("html", _html, 0.03, 1000),
    Target("docx", _reader(".docx", _write_docx), 0.005, 2000),
    Target("pptx", _reader(".pptx", _write_pptx), 0.005, 2000),
    Target("epub", _reader(".epub", _write_epub), 0.005, 2000),
)


_clearers: list[Callable[[], None]] = []
_modules_seen = 0


def _clear_caches() -> None:
    """Empty citeqa's lru_caches (the question reader caches what it read): a timing must be of
    the work, not of a cache hit."""
    global _modules_seen
    if len(sys.modules) != _modules_seen:
        _modules_seen = len(sys.modules)
        _clearers[:] = [
            obj.cache_clear
            for name, mod in list(sys.modules.items())
            if name.startswith("citeqa") and mod is not None
            for obj in vars(mod).values()
            if callable(getattr(obj, "cache_clear", None)) and hasattr(obj, "cache_info")
        ]
    for clear in _clearers:
        clear()


def _best(fn: Callable[[], object], tries: int) -> float:
    best = math.inf
    for _ in range(tries):
        _clear_caches()
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return max(best, 1e-7)


@dataclass
class Result:
    name: str
    inputs: int = 0
    confirmed: int = 0  # inputs timed again because their first ratio was over CONFIRM_ABOVE
    worst: float = 0.0
    worst_input: str = ""
    seconds: float = 0.0
    over: list[tuple[float, str]] = field(default_factory=list)  # ratios over the bound, confirmed


def _ratio(target: Target, s: str, tries: tuple[int, int]) -> float:
    short, long = _repeated(s, target.base)
    args_short = (short, s) if target.pair else (short,)
    args_long = (long, s) if target.pair else (long,)
    one, many = target.make(*args_short), target.make(*args_long)
    # No separate warm-up run: the short input's best of two leaves out a first run's imports.
    t1 = _best(one, tries[0])
    tk = _best(many, tries[1])
    return tk / (K * t1)


def fuzz(target: Target, n: int, seed_: int, bound: float) -> Result:
    result = Result(target.name)

    @seed(seed_)
    @settings(
        max_examples=n,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=["generate"],
    )
    @given(TEXT)
    def one(s: str) -> None:
        result.inputs += 1
        ratio = _ratio(target, s, (2, 1))
        if ratio > CONFIRM_ABOVE:  # once more, best of five: a busy machine slows one run, not five
            result.confirmed += 1
            ratio = _ratio(target, s, (5, 5))
        if ratio > result.worst:
            result.worst, result.worst_input = ratio, s
        if ratio > bound:
            result.over.append((ratio, s))

    t0 = time.perf_counter()
    gc.disable()  # a collection inside one timing is the commonest false alarm
    try:
        one()
    finally:
        gc.enable()
    result.seconds = time.perf_counter() - t0
    return result


def _shard(index: int, n: int, seed_: int, bound: float) -> Result:
    """One process's share of the inputs of TARGETS[index] (an index: the targets are closures,
    which do not pickle; a forked worker has the same TARGETS)."""
    global FILES
    FILES = _Files()
    try:
        return fuzz(TARGETS[index], n, seed_, bound)
    finally:
        FILES.close()
        FILES = None


def _merged(parts: list[Result]) -> Result:
    out = Result(parts[0].name)
    for r in parts:
        out.inputs += r.inputs
        out.confirmed += r.confirmed
        out.seconds += r.seconds
        out.over += r.over
        if r.worst > out.worst:
            out.worst, out.worst_input = r.worst, r.worst_input
    return out


def check(
    total: int, seed_: int = 0, bound: float = 4.0, only: set[str] | None = None, jobs: int = 1
) -> list[Result]:
    """Fuzz each target with its share of `total` inputs (at least 20 each), in `jobs` processes
    (each its own seed and share of every target; 1: in this process)."""
    chosen = [i for i, t in enumerate(TARGETS) if only is None or t.name in only]
    weights = sum(TARGETS[i].weight for i in chosen)
    counts = [max(20, round(total * TARGETS[i].weight / weights)) for i in chosen]
    if jobs <= 1:
        return [_shard(i, n, seed_, bound) for i, n in zip(chosen, counts, strict=True)]
    # Forked: the workers inherit the targets as they are (a test's stand-in target included).
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [
            [pool.submit(_shard, i, n // jobs + (k < n % jobs), seed_ * 1000 + k, bound) for k in range(jobs)]
            for i, n in zip(chosen, counts, strict=True)
        ]
        return [_merged([f.result() for f in parts]) for parts in futures]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--inputs", type=int, default=100_000, help="inputs in all, shared by the targets' weights"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bound", type=float, default=4.0, help="a confirmed ratio over this fails the run")
    ap.add_argument(
        "--only", default="", help="comma-separated targets: " + ",".join(t.name for t in TARGETS)
    )
    ap.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: the CPU count)"
    )
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    print(
        f"K = {K}: ratio t(K·n) / (K·t(n)), about 1 when linear, about {K} when quadratic; bound {args.bound}"
    )
    print(f"{'target':<12}{'inputs':>9}{'retimed':>9}{'worst':>8}{'seconds':>9}  worst input")
    started = time.perf_counter()
    results = check(args.inputs, args.seed, args.bound, only, args.jobs)
    wall = time.perf_counter() - started
    for r in results:
        print(
            f"{r.name:<12}{r.inputs:>9,}{r.confirmed:>9,}{r.worst:>8.2f}{r.seconds:>9.1f}  {r.worst_input[:40]!r}"
        )
    total = sum(r.inputs for r in results)
    over = [(r.name, ratio, s) for r in results for ratio, s in r.over]
    print(
        f"{total:,} inputs in {wall:.0f} s ({args.jobs} processes, {sum(r.seconds for r in results):.0f} s "
        f"of theirs); {len(over)} over the bound"
    )
    for name, ratio, s in sorted(over, key=lambda o: -o[1])[:20]:
        print(f"  {name}: {ratio:.2f} on {s[:60]!r}")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
