""""Who is the author of ...?" is answered by a sentence that names someone (#21), not by one
about the thing made ("GNU calc can be compiled to use the GNU readline library"). Real ingest,
real index, the bundled embedder."""

from __future__ import annotations

from citeqa.answer.people import asks_maker, names_someone
from citeqa.engine import Citeqa
from tests.conftest import ask_evidence, document_engine

MANUAL = """# The calc command manual

GNU calc is an arbitrary precision calculator language with interactive execution of statements.

## Building

GNU calc can be compiled (via a configure option) to use the GNU readline input editor library or
the BSD libedit library.

## Limits

The maximum output base of GNU calc is 999.
"""

HISTORY = """# The dc history

The dc calculator predates most of the Unix tools that use it.

## Origins

The original dc was written by Robert Morris and Lorinda Cherry at Bell Labs.
"""

engine = document_engine("calc_manual.md", MANUAL)


def test_a_sentence_naming_no_one_does_not_answer_who_made_it(engine: Citeqa) -> None:
    a = ask_evidence(engine, "Who is the original author of GNU calc?")
    assert a.abstained and "readline" not in a.quoted, a.text


def test_what_asks_for_a_maker() -> None:
    assert asks_maker("Who is the original author of GNU bc?") and asks_maker("Who wrote the Adam paper?")
    assert not asks_maker("Who is the sole governing authority capable of initiating legislative proposals?")
    assert names_someone("Who wrote the original dc?", HISTORY.splitlines()[-1])
    assert not names_someone("Who is the original author of GNU calc?", "GNU calc can use the BSD libedit library.")
