"""Software names in lower case as the subject of a question (#21): a library ("libgomp") or a
hyphenated name with a short unknown word ("systemd-network") must be named where its value is
quoted, exactly: "libgccjit" is not "libgomp". Real ingest, real index, the bundled embedder."""

from __future__ import annotations

from citeqa.answer.asked import names
from citeqa.answer.mentions import is_identifier, mentions
from citeqa.engine import Citeqa
from tests.conftest import ask_evidence, document_engine

FILLER = "\n\n".join(
    f"Section {i}. The compiler driver reads its options in order and later ones override earlier ones."
    for i in range(1, 30)
)
NOTES = f"""# Toolchain 12 release notes

These notes list what changed in the compilers and their runtime libraries.

{FILLER}

## Runtime libraries

libgomp now supports the OpenMP 5.1 loop transformations and the masked construct.

{FILLER}

## libgccjit

The libgccjit API gained 30 new entry points for querying functions and types.

## Users

The nobody user has uid 65534 on every system.
"""


engine = document_engine("toolchain_notes.md", NOTES)


def test_another_librarys_value_is_no_answer(engine: Citeqa) -> None:
    a = ask_evidence(engine, "How many new API entry points did libgomp gain?")
    assert a.abstained and "30 new entry points" not in a.quoted, a.text
    a = ask_evidence(engine, "How many new API entry points did libgccjit gain?")
    assert not a.abstained and "30 new entry points" in a.quoted, a.text


def test_a_software_name_the_documents_never_mention_is_said_to_be_missing(engine: Citeqa) -> None:
    a = ask_evidence(engine, "What uid does the systemd-network user have?")
    assert a.abstained and "65534" not in a.quoted and "systemd-network" in a.text, a.text


def test_which_words_are_software_names() -> None:
    assert is_identifier("systemd-network") and is_identifier("libgomp")
    # English words and compounds are not: a library, SQuAD's "non-deterministic", "mini-batches"
    assert not any(is_identifier(w) for w in ("library", "non-deterministic", "complexity-theoretic", "mini-batches"))
    libgomp = names("How many entry points did libgomp gain?")[0]
    assert mentions(libgomp, "libgomp now supports") and not mentions(libgomp, "The libgccjit API gained")
