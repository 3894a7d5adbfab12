"""Questions about a software manual (#21, found on two held-out manuals): a command or function
named in lower case is a subject the documents must mention, joined as written; a number in a
name ("ASN.1", "ASN1_MAX_NAME_SIZE") or in a quoted XML listing is no stated value; a date of the
last update does not date the first version. Real ingest, real index, the bundled embedder."""

from __future__ import annotations

from citeqa.answer.asked import names
from citeqa.answer.stated import states
from citeqa.engine import Citeqa
from tests.conftest import ask_evidence, document_engine

MANUAL = """# Libfoo reference manual

This is version 0.21 of the Libfoo specification, last updated 2 October 2018.

## Limits

ASN1_MAX_NAME_SIZE is the maximum number of characters allowed for an ASN.1 identifier.
The client retries a failed read at most 5 times before it gives up.

## Packages

After installing or changing a package file, the application must run the update-mime-database command.
Files are loaded from the mime subdirectory of every directory in XDG_DATA_HOME.

## Checking

Libfoo also provides a command that checks a package file without installing anything:

$ foo-check package.xml

## Example package

<?xml version="1.0" encoding="utf-8"?> <mime-type type="text/x-diff"> <magic priority="50"> <match offset="0" value="diff"/> </magic> </mime-type>
"""


engine = document_engine("libfoo_manual.md", MANUAL)


def test_a_value_the_manual_states_is_quoted(engine: Citeqa) -> None:
    a = ask_evidence(engine, "How many times does the client retry a failed read?")
    assert not a.abstained and "at most 5 times" in a.text and a.evidence[0].hit.source.endswith("libfoo_manual.md")
    a = ask_evidence(engine, "When was the Libfoo specification last updated?")
    assert not a.abstained and "2 October 2018" in a.text


def test_a_number_inside_a_name_is_no_answer(engine: Citeqa) -> None:
    # "ASN.1" and "ASN1_MAX_NAME_SIZE" hold digits; the manual never gives the constant's value
    a = ask_evidence(engine, "What is the numeric value of ASN1_MAX_NAME_SIZE?")
    assert a.abstained and a.abstain_reason == "no_sentence_states_value", a.text


def test_a_quoted_xml_listing_states_no_value() -> None:
    listing = MANUAL.strip().splitlines()[-1]
    assert not states("quantity", listing)  # version="1.0", priority="50", offset="0": a listing's
    assert states("quantity", "The client retries a failed read at most 5 times before it gives up.")
    assert not states("quantity", "We use X.509 certificates and ASN.1 syntax.")


def test_a_sentence_is_quoted_with_the_line_it_introduces(engine: Citeqa) -> None:
    # "...without installing anything:" is no answer on its own; the command is on the next line
    a = ask_evidence(engine, "Which command checks a package file without installing anything?")
    assert not a.abstained and "$ foo-check package.xml" in a.quoted, a.text


def test_words_that_only_look_like_dates_or_values() -> None:
    from citeqa.answer.asked import answer_type, focus

    assert not states("date", "If Python 2 is still supported, selected packages may continue using it.")  # not May
    assert states("date", "The release was cut on 3 May.")
    assert not states("date", "PEP 404 states that no more major releases are planned, as does PEP 373.")
    assert states("date", "The city fell in AD 476.")
    assert answer_type("What compression level does the example use?") == "quantity"
    # the counted thing, not the clause about it ("a Rust tuple can have" names no quantity)
    assert focus("What is the maximum number of elements a Rust tuple can have?") == {"element"}


def test_the_last_update_does_not_date_the_first_version(engine: Citeqa) -> None:
    a = ask_evidence(engine, "In what year was the first version of the Libfoo specification published?")
    assert a.abstained and "2018" not in a.text.split("not relevant enough")[0]


def test_a_command_the_manual_never_names_is_reported_missing(engine: Citeqa) -> None:
    a = ask_evidence(engine, "Which command must the application run after installing a package file?")
    assert not a.abstained and "update-mime-database" in a.text
    # "xdg" and "mime" are both in the manual ("XDG_DATA_HOME", "mime subdirectory"), never joined
    a = ask_evidence(engine, "Which xdg-mime command sets the default application for a file type?")
    assert a.abstained and a.abstain_reason == "subject_not_in_documents" and a.missing_subject == "xdg-mime"


def test_software_names_in_lower_case_are_names_and_english_compounds_are_not() -> None:
    assert [n.text for n in names("What does asn1_create_element return?")] == ["asn1_create_element"]
    assert [n.text for n in names("Which go-enry release added it?")] == ["go-enry"]
    assert [n.text for n in names("What does update-mime-database do?")] == ["update-mime-database"]
    for question in ("How many so-called heretics were there?", "Why is it non-deterministic?", "What happened in the mid-1970s?"):
        assert names(question) == (), question
