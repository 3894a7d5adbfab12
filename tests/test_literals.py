"""Literal text in a question (#21): a quoted string picks the example asked about ("in the example
that times 'wc /etc/hosts'"), and "Which option / environment variable ...?" is answered only by a
sentence that writes one. Real ingest, real index, the bundled embedder."""

from __future__ import annotations

from citeqa.answer.literals import asks_code, gives_quoted, quoted, states_code
from citeqa.engine import Citeqa
from tests.conftest import ask_evidence, document_engine

FILLER = "\n\n".join(
    f"Note {i}. The timer reads the clock before and after the command and reports what the kernel counted."
    for i in range(1, 25)
)
MANUAL = f"""# The stopwatch manual

{FILLER}

## Examples

The first example times the command 'sleep 4'. The report of that example shows how many voluntary context switches
were made: Voluntary context switches: 11.

{FILLER}

## Units

By default the report counts time in instructions executed. The report can count bytes allocated
instead, which helps for short programs.

The option --unit=bytes switches the report to bytes allocated.

## Environment

If no format is given on the command line, the STOPWATCH_FORMAT environment variable supplies it.
"""


engine = document_engine("stopwatch.md", MANUAL)


def test_a_quoted_example_picks_the_value(engine: Citeqa) -> None:
    a = ask_evidence(engine, "In the example that times 'sleep 4', how many voluntary context switches were reported?")
    assert not a.abstained and "Voluntary context switches: 11" in a.quoted, a.text
    # another example's value is not the answer: the manual has no 'wc /etc/hosts' example
    a = ask_evidence(engine, "In the example that times 'wc /etc/hosts', how many voluntary context switches were reported?")
    assert a.abstained and "11" not in a.quoted, a.text


def test_which_option_is_answered_by_a_sentence_that_writes_one(engine: Citeqa) -> None:
    a = ask_evidence(engine, "Which option switches the stopwatch report to bytes allocated?")
    assert not a.abstained and "--unit=bytes" in a.quoted, a.text
    assert "helps for short programs" not in a.quoted, a.text
    a = ask_evidence(engine, "Which environment variable supplies the stopwatch format?")
    assert not a.abstained and "STOPWATCH_FORMAT" in a.quoted, a.text


def test_what_counts_as_literal_text() -> None:
    assert quoted("In the GNU time manual's example timing 'sleep 4', what ...?") == ("sleep 4",)
    assert quoted("What does the manual’s first chapter say?") == ()
    assert gives_quoted("the example 'wc /etc/hosts'", 'Command being timed: "wc  /etc/hosts"')
    assert asks_code("Which grep option turns case sensitivity back on?")
    assert asks_code("What environment variable lets me set bc's options?")
    assert not asks_code("Which variables are normalized?")  # papers write those as math
    assert states_code("Which option overrides an earlier -i?", "Use --no-ignore-case to override -i.")
    assert not states_code("Which option overrides an earlier -i?", "The -i option ignores case.")
    assert states_code("Which format specifier gives the peak memory?", "%M Maximum resident set size.")
    assert not states_code("Which format specifier gives the peak memory?", "Average total memory use of the process.")
