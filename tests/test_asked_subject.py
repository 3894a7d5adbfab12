"""Which name a question asks about, and which release a change is listed under (#21): a name
inside the asked measure or after "according to" is context, so a sentence about the source's
own model is no answer about the subject; a table row labelled with another model's name gives
that model's value; a code with other numbers ("CVE-2017-13089") is another case; a release's
heading answers only for the changes listed under it. Pure functions, then a real index of one
NEWS file with the bundled embedder."""

from __future__ import annotations

from citeqa.answer.asked import answer_type, asked
from citeqa.answer.names import Names
from citeqa.answer.siblings import names_sibling, opens_with_other
from citeqa.core.types import Hit
from citeqa.engine import Citeqa
from tests.conftest import ask_evidence, document_engine


def test_a_name_inside_the_measure_or_after_according_to_is_context() -> None:
    q = asked("What GSM8k pass@1 does GPT-4 reach according to the WizardMath paper?")
    subject = [n.text for n in q.names if not n.context]
    assert subject == ["GPT-4"], q.names
    # the source's own model states its own score, not GPT-4's
    assert opens_with_other(q.names, "Specifically, WizardMath observe a substantial improvement in pass@1 (81.6 vs. 56.8) on GSM8k.")
    assert not opens_with_other(q.names, "GPT-4 reaches 92.0 pass@1 on GSM8k.")
    # a parameter written in lower case with a capital inside is what is asked, not context
    w = asked("What default windowBits value does zlib's deflateInit2() use?")
    assert "windowBits" in [n.text for n in w.names if not n.context], w.names


def test_a_row_labelled_with_another_model_is_not_the_subjects() -> None:
    q = asked("What top-1 error does GoogLeNet get with 10-crop testing on the ImageNet validation set?")
    caption = "Table 3. Error rates (%, 10-crop testing) on ImageNet validation.\n\nmodel | top-1 err. | top-5 err.\n\n"
    rows = ("GoogLeNet [44]: top-1 err. 24.1 · top-5 err. 7.89", "plain-34: top-1 err. 28.54 · top-5 err. 10.02")
    for row, about in zip(rows, (True, False), strict=True):
        hit = Hit("c1", "resnet.pdf", 6, caption + "\n".join(rows), 1.0)
        assert Names().about(q.names, hit, row) is about, row
    # a row labelled by a setting, in a table whose caption names the subject, is the subject's
    r = asked("What top-5 error does ResNet-152 get with 10-crop testing?")
    row = "10-crop testing: top-1 err. 21.43 · top-5 err. 5.71"
    hit = Hit("c2", "resnet.pdf", 6, "Table 4. Error rates of ResNet-152 on ImageNet validation.\n\nmethod | top-1 | top-5\n\n" + row, 1.0)
    assert Names().about(r.names, hit, row)


def test_a_code_with_other_numbers_is_another_case_and_a_measure_asks_a_value() -> None:
    from citeqa.answer.versions import only_given_versions

    cve = next(n for n in asked("Which release fixed CVE-2018-0494?").names if n.text == "CVE-2018-0494")
    assert names_sibling(cve, "Fix CVE-2017-13089 (Stack overflow in HTTP protocol handling)")
    assert not names_sibling(cve, "Fix cookie injection (CVE-2018-0494)")
    assert answer_type("What standard deviation did they use for the Gaussian initialization?") == "quantity"
    assert answer_type("What event code does the RRScreenChangeNotify event have?") == "quantity"
    # the only number a sentence has is the version the question gives: it states no other value
    assert only_given_versions("Which CVE number does the fix in wget 1.20.3 address?", "Changes in Wget 1.20.3 ** Fixed a buffer overflow")
    assert not only_given_versions("Which CVE number does the fix in wget 1.20.3 address?", "Fixed CVE-2019-5953 in 1.20.3")
    assert not only_given_versions("How many layers does ResNet-152 have?", "ResNet-152 has 152 layers.")


NEWS = """kite NEWS

* Changes in Kite 2.5
** Fixed a buffer overflow vulnerability
* Changes in Kite 2.4
** Add support for WARC files with the --warc-file option.
** Add support for content-on-error.
* Changes in Kite 2.3
** Fix cookie injection (CVE-2018-0494)
** Fix a crash when the server sends an empty redirect.
* Changes in Kite 2.2
** Fix a stack overflow in HTTP protocol handling (CVE-2017-13089)
** Support for autoconf 2.71
"""

engine = document_engine("kite_news.txt", NEWS)


def test_a_change_is_found_by_its_code_or_acronym_under_its_own_heading(engine: Citeqa) -> None:
    a = ask_evidence(engine, "Which kite release fixed the cookie injection vulnerability CVE-2018-0494?")
    assert not a.abstained and "Kite 2.3" in a.quoted and "CVE-2018-0494" in a.quoted and "2.2" not in a.quoted, a.text
    a = ask_evidence(engine, "In which kite release did support for WARC files arrive?")
    assert not a.abstained and "Kite 2.4" in a.quoted and "WARC" in a.quoted, a.text


def test_a_heading_over_other_changes_gives_no_number(engine: Citeqa) -> None:
    # the fix in 2.5 is listed without a CVE number: its heading states no answer, nor 2.2's code
    a = ask_evidence(engine, "Which CVE number does the buffer overflow fix in kite 2.5 address?")
    assert a.abstained and "CVE-2017-13089" not in a.text, a.text


def test_a_version_of_another_product_and_an_adverb_first() -> None:
    from citeqa.answer.stated import states
    from citeqa.answer.versions import other_version

    # the question gives wget's version and asks autoconf's: "autoconf 2.63" is no other wget
    assert not other_version("Since wget 1.20, which autoconf version do you need?", "Require autoconf 2.63 or above to build from git")
    assert other_version("When was diffutils 2.8.6 released?", "release 2.8.7 (2004-04-13)")
    assert other_version("When was diffutils 2.8.6 released?", "diffutils 2.8.7 (2004-04-13)")
    # "call ... first, even if" says when, not how many; "the first 8 bytes" still has a number
    assert not states("quantity", "It's a good idea to call jpeg_set_defaults() first, even if you plan to set all the parameters.")
    assert states("quantity", "The first two layers are frozen.")
    # "Using ResNet-101 for predicting classes ..., the error is 14.4%" is ResNet-101's, not GoogLeNet's
    q = asked("What top-5 localization error did GoogLeNet get on the ImageNet validation set?")
    assert opens_with_other(q.names, "Using ResNet-101 for predicting classes, the top-5 localization error is 14.4%.")
