"""Release notes (#21): "Which release introduced the --trim option?" is answered by the line that
lists the option and the heading of the release it is listed under, a passage or more above it,
both quoted; a line that lists another option ("-j" for "-J") or a release heading alone is no
answer. Real ingest, real index, the bundled embedder."""

from __future__ import annotations

from citeqa.answer.releases import key_terms, lists_change
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

* Noteworthy changes in release 3.0 (2022-01-20) [stable]

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
