"""Values that sit beside the asked one (#21, from a tuning batch written to be hard that way): a
figure of the model family is not one of its 13B size, a value in other units is not the one
asked "in terabytes", a result at another accuracy is not the one "at its 69.8%", a table's line
of headers holds no value, and a measure written in capitals ("mAP") is no subject. Real ingest,
real index, the bundled embedder."""

from __future__ import annotations

from citeqa.answer.asked import names
from citeqa.core.tables import is_header_line
from citeqa.engine import Citeqa
from tests.conftest import ask_evidence, document_engine

REPORT = """# Heron models: technical report

## Results

Heron observes a substantial improvement in pass@1 on MATH, reaching 22.7 against 13.5 for the baseline.
We release Heron 13B and Heron 70B; all results above are for the largest model.
Heron 7B reaches 9.8 pass@1 on MATH.
Trained with sigmoid units, Heron-S stops at a maximum accuracy of 69.8%.

## Rules

The indent of a rule defaults to 0 when it is missing.

## Library

Each configuration file gives the name, the version and the edition of Heron to use.
The heron_parse function was added in version 2.3 of the library.

## Releases

Noteworthy changes in release 2.8.7 (2004-04-13): the release contains no user-visible changes.
The rescan setting holds the default interval between automatic checks for configuration changes.

## Data

The Heron corpus spans over 600 programming languages and 40 licences.

## Training

Heron-S needs 14 times fewer steps than the baseline to reach the 72.2% accuracy.
Training Heron with 100 passages takes 425 GPU hours.
The 152-layer network needs 11.3 billion FLOPs.
"""


engine = document_engine("heron_report.md", REPORT)


def test_a_size_named_gets_its_own_value_not_the_familys(engine: Citeqa) -> None:
    a = ask_evidence(engine, "What pass@1 does Heron 7B reach on MATH?")
    assert not a.abstained and "9.8" in a.quoted, a.text
    # the family's 22.7 is the 70B's: the 13B's is not in the report
    a = ask_evidence(engine, "What pass@1 does Heron 13B reach on MATH?")
    assert a.abstained and "22.7" not in a.quoted, a.text


def test_a_value_asked_in_a_unit_needs_that_unit(engine: Citeqa) -> None:
    a = ask_evidence(engine, "How large is the Heron corpus in terabytes?")
    assert a.abstained and not a.quoted, a.text  # "600 programming languages" is no size in TB


def test_a_value_named_in_the_question_picks_the_result(engine: Citeqa) -> None:
    a = ask_evidence(engine, "How many steps did Heron-S need to reach its 69.8% accuracy?")
    assert a.abstained and "14 times" not in a.quoted, a.text  # that is the 72.2% run


def test_a_count_or_size_the_question_gives_picks_the_result(engine: Citeqa) -> None:
    a = ask_evidence(engine, "How many GPU hours does training Heron with 5 passages take?")
    assert a.abstained and "425" not in a.quoted, a.text  # that is the run with 100 passages
    a = ask_evidence(engine, "How many GPU hours does training Heron with 100 passages take?")
    assert not a.abstained and "425 GPU hours" in a.quoted, a.text
    a = ask_evidence(engine, "How many FLOPs does the 34-layer plain baseline need?")
    assert a.abstained and "11.3" not in a.quoted, a.text  # the 152-layer network's
    a = ask_evidence(engine, "How many FLOPs does the 152-layer network need?")
    assert not a.abstained and "11.3 billion" in a.quoted, a.text


def test_a_version_asked_is_a_version_stated(engine: Citeqa) -> None:
    # a sentence that names "the version" states none; "72.2%" is no version either
    a = ask_evidence(engine, "What is the minimum Heron version needed for the 2021 edition?")
    assert "the version and the edition" not in a.quoted and "72.2%" not in a.quoted, a.text
    a = ask_evidence(engine, "Which version of the library added the heron_parse function?")
    assert not a.abstained and "version 2.3" in a.quoted, a.text


def test_another_release_and_a_setting_without_its_value(engine: Citeqa) -> None:
    a = ask_evidence(engine, "On what date was Heron 2.8.6 released?")
    assert a.abstained and "2004-04-13" not in a.quoted, a.text  # that is release 2.8.7
    a = ask_evidence(engine, "On what date was Heron 2.8.7 released?")
    assert not a.abstained and "2004-04-13" in a.quoted, a.text
    # "the default interval" names the setting and states no value of it
    a = ask_evidence(engine, "What is the default rescan interval in seconds?")
    assert a.abstained and "rescan setting" not in a.quoted, a.text


def test_a_default_is_not_a_limit(engine: Citeqa) -> None:
    a = ask_evidence(engine, "What is the maximum indent a rule may have?")
    assert a.abstained and "defaults to 0" not in a.quoted, a.text


def test_what_a_question_counts_and_names() -> None:
    from citeqa.answer.asked import asked, focus
    from citeqa.answer.evidence_text import is_title
    from citeqa.answer.stated import counts, states

    q = asked("How many rounds of Evol-Instruct evolution did Heron run?")
    assert not counts(q, "We adapt Evol-Instruct to a new paradigm including two evolution lines.")
    assert counts(q, "We run three rounds of evolution.")
    assert [n.text for n in names("Which licence covers libtasn1's tools?")] == ["libtasn1"]
    assert "beta2" in focus("What value of beta2 does Adam use by default?")  # a parameter (β2), not a name
    assert is_title("20 asn1_der_decoding2 . . . . . . . . . . . . . 21")  # a table of contents' entry
    # a network written as its layers states no number ("What dropout rate ...?")
    assert not states("quantity", "CIFAR-10 with c64-c64-c128-1000 architecture. Dropout is applied to the input layer.")


def test_a_function_without_its_number_is_another_function() -> None:
    from citeqa.answer.siblings import names_sibling

    subject = next(n for n in names("Since which version has asn1_der_decoding2 been available?") if "decoding2" in n.text)
    assert names_sibling(subject, "Since libtasn1 3.7 the ider argument can be omitted in asn1_der_decoding() .")
    assert not names_sibling(subject, "The asn1_der_decoding2 function was added in 4.0.")


def test_header_lines_and_measures_in_capitals() -> None:
    assert is_header_line("Model | Steps to | 72.2% | Max accuracy")
    assert not is_header_line("BN-Baseline: Steps to 13.3 · 72.2% 106 · Max accuracy 72.7%")
    assert names("What mAP does ResNet-152 get on COCO?")[0].text == "ResNet-152"
