"""Numbers that are no answer (#21): a section's number where a heading starts is no release
("[Contents] 1.1 Description calc ..."), and "First, it reads ..." states no quantity. Real
ingest, real index, the bundled embedder."""

from __future__ import annotations

from citeqa.answer.stated import states
from citeqa.answer.versions import states_version
from citeqa.engine import Citeqa
from tests.conftest import ask_evidence, document_engine

MANUAL = """# The calc command manual

Next: Options, Previous: Introduction, Up: Introduction [Contents] 1.1 Description calc [ -hlq ] [ file ... ]
calc is a language that supports arbitrary precision numbers with interactive execution of statements.

## How calc reads its input

First, it reads the files named on the command line, in the order given.
Then it reads the standard input until the end of the file.
Each input line may hold at most 2048 characters.
"""


engine = document_engine("calc_manual.md", MANUAL)


def test_a_section_number_is_no_release(engine: Citeqa) -> None:
    a = ask_evidence(engine, "Which release of calc does the calc manual describe?")
    assert a.abstained and "1.1 Description" not in a.quoted, a.text
    assert not states_version("Which release of calc does the manual describe?", "Up: Introduction [Contents] 1.1 Description calc reads")
    assert states_version("Since which Ninja version are pools supported?", "Available since Ninja 1.1. Pools allow you to limit jobs.")


def test_first_as_the_order_of_steps_is_no_quantity(engine: Citeqa) -> None:
    a = ask_evidence(engine, "How long can an input line of calc be?")
    assert not a.abstained and "2048 characters" in a.quoted and "First, it reads" not in a.quoted, a.text
    assert not states("quantity", "First, it retrieves support text passages from Wikipedia.")
    assert states("quantity", "The first layer has a stride of 2.")
