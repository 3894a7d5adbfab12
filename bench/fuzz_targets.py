"""What is fuzzed: the text handling that untrusted input reaches. Each target takes the repeated
string (and, for a pair, the short one too) and returns the callable to time; citeqa is imported
inside, so that a first call's imports are not in the timing of the run that follows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.fuzz_files import reader, write_docx, write_epub, write_pptx


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

    # A paragraph per line, so that a repeated line makes a run of sibling elements (whose tails
    # trafilatura moves one by one) as well as one long paragraph.
    body = "\n".join(f"<p>{line}</p>" for line in x.split("\n"))
    data = f"<html><head><title>t</title></head><body><article><h1>Fuzz</h1>{body}</article></body></html>".encode(
        "utf-8", "replace"
    )
    return lambda: web.extract(data).pages()


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
    Target("docx", reader(".docx", write_docx), 0.005, 2000),
    Target("pptx", reader(".pptx", write_pptx), 0.005, 2000),
    Target("epub", reader(".epub", write_epub), 0.005, 2000),
)
