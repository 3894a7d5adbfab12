"""Release notes (#21): "Which release introduced the --trim option?" is answered by the line that
lists the option and the heading of the release it is listed under, a passage or more above it,
both quoted; a line that lists another option ("-j" for "-J") or a release heading alone is no
answer. Real ingest, real index, the bundled embedder."""

from __future__ import annotations

from citeqa.answer.releases import given_version, key_terms, lists_change, release_heading
from citeqa.engine import Citeqa
from tests.conftest import ask_evidence, document_engine

# Long enough sections that a listed change sits passages below its release's heading.
_FILLER = "\n".join(
    f"** The {w} command no longer crashes on empty input files; it reports a clear error instead."
    for w in ["align", "wrap", "pad", "fold", "indent", "justify", "reflow", "split", "merge", "sort", "count", "number"]
)
NEWS = f"""quill NEWS

* Noteworthy changes in release 3.2 (2023-04-11) [stable]

{_FILLER}

** New features

New option, --trim: remove trailing blanks from every line before the text is reflowed.

* Noteworthy changes in release 3.1 (2022-10-02) [stable]

{_FILLER}

** New features

quill now reads zstd-compressed input when given the -J option.

Added 64-bit LoongArch architecture support.

** Portability

Fixed the build on sparc with older kernel headers.

* Noteworthy changes in release 3.0 (2022-01-20) [stable]

{_FILLER}

* Noteworthy changes in release 3.10 (2023-09-30) [stable]

{_FILLER}
"""


engine = document_engine("quill_news.txt", NEWS)


def test_the_release_of_a_listed_option_is_its_heading(engine: Citeqa) -> None:
    a = ask_evidence(engine, "Which quill release introduced the --trim option?")
    assert not a.abstained and "release 3.2 (2023-04-11)" in a.quoted and "--trim" in a.quoted, a.text
    a = ask_evidence(engine, "Since which quill version can it read zstd-compressed input?")
    assert not a.abstained and "release 3.1 (2022-10-02)" in a.quoted and "zstd" in a.quoted, a.text
    a = ask_evidence(engine, "When did quill get the --trim option?")
    assert not a.abstained and "2023-04-11" in a.quoted, a.text


def test_another_option_is_no_answer(engine: Citeqa) -> None:
    a = ask_evidence(engine, "Which quill release added the -j option?")
    assert "release 3.1" not in a.quoted, a.text
    assert key_terms("Which sed release introduced the --debug option?") == (frozenset({"--debug"}), frozenset())
    assert not lists_change("Which tar release added -J?", "such options as -z, -j, etc.")
    assert not lists_change("What is the minimum PCRE2 version needed to build grep 3.8?", "The build no longer relies on src/grep.")


def test_the_date_of_a_given_release_is_its_own_heading(engine: Citeqa) -> None:
    a = ask_evidence(engine, "When did quill 3.1 come out?")
    assert not a.abstained and "release 3.1 (2022-10-02)" in a.quoted and "3.10" not in a.quoted, a.text
    a = ask_evidence(engine, "When did quill 3.10 come out?")
    assert not a.abstained and "release 3.10 (2023-09-30)" in a.quoted and "(2022-10-02)" not in a.quoted, a.text
    assert release_heading("When did quill 3.1 come out?", "Noteworthy changes in release 3.10 (2023-09-30)") is None
    assert given_version("When did strace 5.10 come out?") == "5.10" and given_version("When was quill released?") is None


def test_a_name_with_an_inner_capital_ties_a_change_and_a_value_is_no_change(engine: Citeqa) -> None:
    a = ask_evidence(engine, "Which quill release added support for the 64-bit LoongArch architecture?")
    assert not a.abstained and "release 3.1 (2022-10-02)" in a.quoted and "LoongArch" in a.quoted, a.text
    # asks a value, not when something changed: a listed fix on sparc, under its heading, is no answer
    a = ask_evidence(engine, "What is the minimum Linux kernel version quill requires on sparc?")
    assert "release 3.1" not in a.quoted, a.text


def test_when_was_that_release_out_is_the_heading_above_the_quoted_change(engine: Citeqa) -> None:
    first = engine.ask("Which option did quill add for removing trailing blanks?", generate="never")
    assert "--trim" in first.quoted, first.text
    a = engine.ask("When was that release out?", history=[("user", first.question), ("assistant", first.text)], generate="never")
    assert not a.abstained and "release 3.2 (2023-04-11)" in a.quoted, a.text

