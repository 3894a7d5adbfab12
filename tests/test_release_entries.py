"""A line of release notes is about the release whose entry it is listed in (#21): "The most
severe CVE fixed in this release is Low." under 3.0.16's heading says nothing of 3.0.14, even when
that heading is a passage before it; "What about 1.1.0?" asks the previous question of 1.1.0; a
question's choices ("High, Moderate or Low?") are no names to look for. Pure functions, then a
real index of one Markdown NEWS file with the bundled embedder."""

from __future__ import annotations

from citeqa.answer.asked import asked, names
from citeqa.answer.literals import states_path
from citeqa.answer.siblings import other_size
from citeqa.answer.versions import other_version
from citeqa.core.sentences import sentence_spans
from citeqa.engine import Citeqa
from tests.conftest import ask_evidence, document_engine


def _entry(old: str, new: str, date: str, severity: str | None, fixes: int) -> str:
    lines = [f"### Major changes between Kite {old} and Kite {new} [{date}]", ""]
    if severity:
        lines += [f"Kite {new} is a security patch release. The most severe CVE fixed in this", f"release is {severity}.", ""]
    lines += ["This release incorporates the following bug fixes and mitigations:", ""]
    lines += [f"  * {fix}" for fix in _FIXES[new][:fixes]]
    return "\n".join(lines) + "\n\n"


# (each entry its own changes: passages that repeat one another are shown once)
_FIXES = {
    "3.0.16": ["Fixed timing side-channel in ECDSA signature computation.", "Fixed possible OOB memory access with invalid low-level elliptic curve parameters.", "Fixed a leak of key material when a provider fails to load.", "Improved the speed of session ticket decryption on ARM.", "Fixed wrong results from the modular inversion on 32-bit hosts.", "Removed the obsolete build option for the old assembler."],
    "3.0.15": ["Fixed possible denial of service in X.509 name checks.", "Fixed possible buffer overread in SSL_select_next_proto().", "Fixed a crash when the peer sends an empty cookie.", "Made the DTLS replay window configurable.", "Fixed the parsing of very long host names in URLs.", "Corrected the man page of the verify command."],
    "3.0.14": ["Fixed potential use after free after SSL_free_buffers() is called.", "Fixed an issue where checking excessively long DSA keys may be very slow.", "Fixed unbounded memory growth with session handling in TLSv1.3.", "Added a check of the group order in key exchange.", "Fixed the printing of negative serial numbers.", "Fixed a race when two threads load the same engine."],
    "3.0.13": ["Fixed PKCS12 decoding crashes.", "Fixed excessive time spent checking invalid RSA public keys.", "Fixed POLY1305 MAC implementation corrupting vector registers on PowerPC.", "Limited the size of ASN.1 strings that are printed.", "Fixed a hang in the OCSP stapling callback.", "Rejected zero-length AES-SIV associated data."],
    "1.1.1": ["Added support for TLSv1.3.", "Added the SHA3 family of digests.", "Added the X25519 and X448 key exchange."],
    "1.1.0": ["Added the ChaCha20 and Poly1305 ciphers.", "Dropped support for SSLv2.", "Made most structures opaque."],
}


NEWS = (
    "NEWS\n====\n\nThis file gives a brief overview of the major changes between each Kite release.\n\n"
    + _entry("3.0.15", "3.0.16", "11 Feb 2025", "Low", 6)
    + _entry("3.0.14", "3.0.15", "3 Sep 2024", "Moderate", 6)
    + _entry("3.0.13", "3.0.14", "4 Jun 2024", None, 6)
    + _entry("3.0.12", "3.0.13", "30 Jan 2024", "High", 6)
    + _entry("1.1.0", "1.1.1", "11 Sep 2018", None, 3)
    + _entry("1.0.2", "1.1.0", "25 Aug 2016", None, 3)
)

engine = document_engine("NEWS.md", NEWS)


def test_a_line_under_another_release_says_nothing_of_the_asked_one(engine: Citeqa) -> None:
    # 3.0.14's entry rates no CVE: the ratings listed under 3.0.16's, 3.0.15's and 3.0.13's are theirs
    a = ask_evidence(engine, "What was the most severe CVE rating fixed in Kite 3.0.14?")
    assert a.abstained, a.text
    a = ask_evidence(engine, "Is the most severe CVE fixed in Kite 3.0.15 rated High, Moderate or Low?")
    assert not a.abstained and "Moderate" in a.quoted and "Low" not in a.quoted, a.text


def test_a_version_follow_up_asks_of_that_version(engine: Citeqa) -> None:
    first = ask_evidence(engine, "When was Kite 1.1.1 released?")
    assert not first.abstained and "11 Sep 2018" in first.quoted, first.text
    history = (("user", "When was Kite 1.1.1 released?"), ("assistant", first.text))
    a = engine.ask("What about 1.1.0?", history=history, generate="never")
    assert not a.abstained and "25 Aug 2016" in a.quoted and "11 Sep 2018" not in a.quoted, a.text


def test_choices_sizes_and_documents_in_a_question() -> None:
    # the choices are answers, not names the documents must mention ("High Moderate" was one)
    found = [n.text for n in names("Is the most severe CVE fixed in Kite 3.0.18 rated High, Moderate or Low?")]
    assert "High" not in found and "Moderate" not in found and not any(" " in n for n in found), found
    assert [n.text for n in names("Which is deeper, ResNet-50 or VGG-19?")] == ["ResNet-50", "VGG-19"]
    # a size written apart from its name is that name's
    q = asked("What pass@1 score on GSM8k does the 13B version of WizardMath reach?")
    assert [n.text for n in q.names if not n.context] == ["WizardMath 13B"], q.names
    # "in the ResNet paper" says where to look: it is no subject a sentence must name
    q = asked("How many FLOPs does the 34-layer baseline in the ResNet paper need?")
    assert all(n.context for n in q.names), q.names
    # "instead of ReLU" is what the follow-up is not about; a size is swapped like a name
    previous = [("user", "What is the highest validation accuracy BN-x30 reached?")]
    q = asked("What about the variant that uses sigmoid instead of ReLU?", previous)
    assert "ReLU" not in q.question.split("?")[0] and "sigmoid" in q.focus, q
    q = asked("And the 152-layer ResNet?", [("user", "How many FLOPs does the 34-layer baseline need?")])
    assert q.question == "How many FLOPs does the 152-layer baseline need?"
    # and the 34-layer net's value, written "34 parameter layers", is no answer about it
    assert other_size(q.names, q.question, "Middle: a plain network with 34 parameter layers (3.6 billion FLOPs).", value=True)
    assert not other_size(q.names, q.question, "the 152-layer ResNet (11.3 billion FLOPs) still has lower complexity", value=True)


def test_headings_paths_and_a_license_version() -> None:
    text = "  * Fixed a possible buffer overread.\n    ([CVE-2024-5535])\n### Major changes between Kite 3.0.13 and Kite 3.0.14\n"
    assert [text[s:e].strip() for s, e in sentence_spans(text)][-1].startswith("### Major changes")
    q = "What is the default path of lsof's personal device cache file?"
    assert not states_path(q, "See the PERSONAL DEVICE CACHE PATH (DEFAULT) section of the manual.")
    assert states_path(q, "By default it is ~/.lsof_hostname in the home directory.")
    assert states_path("Which directory holds public modules?", "They go to /usr/lib/python3/dist-packages.")
    # the license's version is no other release of the product asked about
    assert not other_version("What license did Kite switch to with the 3.0.0 release?", "Changed the license to the Apache License v2.0.")
    assert other_version("What changed in Kite 3.0.0?", "Kite 3.0.18 is a security patch release.")
