"""The web app through Streamlit's AppTest (in-process, real models and milvus-lite), plus its pure helpers."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from citeqa.answer.answerer import GENERATED_HEADER, evidence_text
from citeqa.app.chat import Turn, answer_markdown, transcript_markdown, unsupported_markdown
from citeqa.app.display import Display, score_help
from citeqa.app.pages import match_spans, render_page
from citeqa.app.safe_text import escape_md, find_quote, passage_html
from citeqa.core.types import Answer, Citation, Evidence, Hit, Sentence, Timings
from citeqa.ingest.uploads import UploadRejected, safe_name, store_upload
from tests.conftest import SAMPLE_DOCS, make_settings
from tests.markdown_text import unescape_md

APP = str(Path(__file__).resolve().parents[1] / "app" / "main.py")
TIMEOUT = 240  # the 2-core CI machine is shared; the demo model answers in seconds there


def _ingest(data: Path, embedder, paths: list[Path]) -> None:
    from citeqa.engine import Citeqa

    with Citeqa(make_settings(data), embedder=embedder) as qa:
        report = qa.ingest(paths)
        assert not report.failed


def _start() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _labels(at: AppTest) -> list[str]:
    return [unescape_md(e.label) for e in at.expander]


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.label for e in at.expander]
    return unescape_md("\n".join(parts))


def _ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


# -- the app ------------------------------------------------------------------


def test_ask_streams_an_answer_with_cited_sources(app_env, embedder):
    _ingest(app_env, embedder, [SAMPLE_DOCS])
    at = _start()
    assert not at.error
    assert any("SmolLM2" in c.value for c in at.sidebar.caption)
    assert any("demo model" in w.value for w in at.sidebar.warning)

    _ask(at, "What was the maximum depth of Aurora Lake in the 2023 survey?")
    assert not at.error, [e.value for e in at.error]
    assistant = [m for m in at.chat_message if m.name == "assistant"]
    assert len(assistant) == 1
    first = unescape_md(assistant[0].markdown[0].value)
    assert first.startswith("**Quoted from your documents:**")  # the evidence answer leads
    assert "“The station recorded the lake's maximum depth as 47 metres" in first
    # Sources: cited ones as "[n] file, p. X · score", the rest listed below them.
    text = _texts(at)
    assert "aurora_lake_field_station_2023.pdf, p. 2" in text
    assert re.search(r"score \d", text)
    assert any(re.match(r"\[\d|(Other r|R)etrieved passages", lbl) for lbl in _labels(at))
    # The passage itself is shown (html-escaped, evidence in <mark>).
    assert any("47 metres" in h.proto.body for h in at.get("html"))
    # Timings, evidence time first; and a transcript that carries the question and the cited page.
    assert any(c.value.startswith("evidence ") and "total" in c.value for c in at.caption)
    transcript = next(d for d in at.get("download_button") if d.proto.label == "Transcript")
    assert not transcript.proto.disabled
    md = transcript_markdown(at.session_state["citeqa_turns"])
    assert "## Q1. What was the maximum depth of Aurora Lake in the 2023 survey?" in md
    assert "aurora_lake_field_station_2023.pdf, p. 2" in md


def test_follow_up_passes_history_and_new_chat_clears(app_env, embedder, monkeypatch):
    from citeqa.engine import Citeqa

    _ingest(app_env, embedder, [SAMPLE_DOCS / "kestrel_k2_handbook.md"])
    seen: list[tuple] = []
    real = Citeqa.ask_stream

    def spy(self, question, **kw):
        if "history" in kw:  # the chat's questions, not the example questions' checks
            seen.append(tuple(kw["history"]))
        return real(self, question, **kw)

    monkeypatch.setattr(Citeqa, "ask_stream", spy)
    at = _start()
    _ask(at, "How long is the Kestrel K2 warranty?")
    _ask(at, "What does it cover?")
    assert seen[0] == ()
    assert [r for r, _ in seen[1]] == ["user", "assistant"] and "warranty" in seen[1][0][1]
    assert len([m for m in at.chat_message if m.name == "user"]) == 2

    transcript = next(d for d in at.get("download_button") if d.proto.label == "Transcript")
    assert not transcript.proto.disabled

    at.button(key="citeqa_new_chat").click().run()
    assert not at.chat_message


def test_an_abstained_answer_is_shown_as_such(app_env, embedder, monkeypatch):
    _ingest(app_env, embedder, [SAMPLE_DOCS])
    monkeypatch.setenv("CITEQA_MIN_SCORE", "0.99")  # nothing is relevant enough: the model is not called
    at = _start()
    _ask(at, "Who won the 1954 football world cup?")
    assert any("do not contain the answer" in i.value for i in at.info)
    assert any(e.label.startswith("Closest passages") for e in at.expander)
    assert not at.error


def test_missing_model_is_an_error_message_not_a_traceback(app_env, monkeypatch, tmp_path):
    monkeypatch.setenv("CITEQA_MODEL", str(tmp_path / "no-such-model.gguf"))
    at = _start()
    errors = " ".join(e.value for e in at.error)
    assert "no-such-model.gguf" in unescape_md(errors) and "CITEQA_MODEL" in errors
    assert at.chat_input[0].proto.disabled
    # The library still works without a chat model.
    assert any(s.value == "Documents" for s in at.subheader)


def test_broken_model_file_is_an_error_message(app_env, monkeypatch, tmp_path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    monkeypatch.setenv("CITEQA_MODEL", str(bad))
    at = _start()
    assert any("broken.gguf" in unescape_md(e.value) for e in at.error)


def test_unreachable_milvus_is_an_error_message(app_env, monkeypatch):
    monkeypatch.setenv("CITEQA_MILVUS_URI", "http://127.0.0.1:9")
    at = _start()
    text = " ".join(unescape_md(e.value) for e in at.error)
    assert "cannot connect to Milvus" in text and "CITEQA_MILVUS_URI" in text
    assert not at.chat_input


def test_invalid_setting_is_an_error_message(app_env, monkeypatch):
    monkeypatch.setenv("CITEQA_TOP_K", "0")
    at = _start()
    assert any("CITEQA_TOP_K" in unescape_md(e.value) for e in at.error)


def test_upload_ingests_with_per_file_results(app_env):
    at = _start()
    pdf = (SAMPLE_DOCS / "aurora_lake_field_station_2023.pdf").read_bytes()
    at.file_uploader[0].set_value(
        [
            ("../../etc/aurora.pdf", pdf, "application/pdf"),
            ("notes.txt", b"The blue pump at Site Nine was serviced on 4 May.\n", "text/plain"),
            ("empty.md", b"", "text/markdown"),
            ("fake.pdf", b"not really a pdf", "application/pdf"),
        ]
    ).run()
    at.button(key="ingest-uploads").click().run()
    assert not at.exception
    rows = at.dataframe[0].value
    results = dict(zip(rows["file"], rows["result"], strict=True))
    assert "added" in results["../../etc/aurora.pdf"] and "added" in results["notes.txt"]
    assert "failed" in results["empty.md"] and "failed" in results["fake.pdf"]
    stored = sorted(p.name for p in (app_env / "uploads").iterdir())
    assert stored == ["aurora.pdf", "notes.txt"]  # the failed PDF left no copy behind
    assert any("failed" in w.value for w in at.warning)

    # The same name with other content is kept beside, never overwriting.
    at.file_uploader[0].set_value(("notes.txt", b"Other notes: the red valve leaks.\n", "text/plain")).run()
    at.button(key="ingest-uploads").click().run()
    assert sorted(p.name for p in (app_env / "uploads").iterdir()) == [
        "aurora.pdf",
        "notes (2).txt",
        "notes.txt",
    ]
    assert any(m.value == 3 or m.value == "3" for m in at.metric if m.label == "Documents")


def test_delete_a_document(app_env, embedder):
    _ingest(app_env, embedder, [SAMPLE_DOCS])
    at = _start()
    docs = at.multiselect(key="citeqa_selected_docs")
    target = next(o for o in docs.options if "kestrel" in o)
    docs.set_value([target]).run()
    at.button(key="doc-delete").click().run()
    assert not at.exception
    assert any("Deleted 1 document" in s.value for s in at.success)
    assert all("kestrel" not in o for o in at.multiselect(key="citeqa_selected_docs").options)
    assert any(str(m.value) == "2" for m in at.metric if m.label == "Documents")


def test_reingest_a_document(app_env, embedder):
    _ingest(app_env, embedder, [SAMPLE_DOCS / "kestrel_k2_handbook.md"])
    at = _start()
    docs = at.multiselect(key="citeqa_selected_docs")
    docs.set_value(list(docs.options)).run()
    at.button(key="doc-reingest").click().run()
    assert not at.exception
    assert "added" in at.dataframe[0].value["result"][0]


def test_restricting_to_a_document_filters_sources(app_env, embedder):
    _ingest(app_env, embedder, [SAMPLE_DOCS])
    at = _start()
    only = at.multiselect(key="citeqa_opt_sources")
    heron = next(o for o in only.options if "heron" in o)
    only.set_value([heron]).run()
    at.slider(key="citeqa_opt_topk").set_value(2).run()
    _ask(at, "When is the Project Heron launch?")
    labels = " ".join(_labels(at)) + _texts(at)
    assert "heron_steering_meeting" in labels and "kestrel" not in labels and "aurora" not in labels


def test_document_text_is_never_active_markdown(app_env, embedder, tmp_path):
    evil = tmp_path / "docs" / "evil_[x](http:__e).md"
    evil.parent.mkdir()
    evil.write_text(
        "The zebra valve pressure is 7 bar. ![track](http://attacker.invalid/x.png) <img src=x onerror=alert(1)> "
        ":red[loud] $x^2$\n\n# Not a heading\n"
    )
    _ingest(app_env, embedder, [evil])
    at = _start()
    _ask(at, "What is the zebra valve pressure?")
    for el in [*at.markdown, *at.caption, *at.info]:
        assert "![" not in el.value and "<img" not in el.value and ":red[" not in el.value
    for e in at.expander:
        assert "](" not in e.label
    for h in at.get("html"):
        assert "<img" not in h.proto.body


# -- helpers --------------------------------------------------------------------


def test_escape_md_is_inert_and_reversible():
    raw = "# H\n![i](http://x) <b>hi</b> :red[x] $y$ 1. a_b *c*\n- item"
    md = escape_md(raw)
    assert "![" not in md and "<b>" not in md and ":red[" not in md and not md.startswith("#")
    assert unescape_md(md).splitlines() == [ln.strip() for ln in raw.splitlines()]
    assert "\n" not in escape_md("a\nb", single_line=True)


def test_passage_html_escapes_and_marks_the_quote():
    html = passage_html("A <script>x</script> the  rate was\n0.3 percent.", "rate was 0.3")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<mark>rate was\n0.3</mark>" in html
    assert find_quote("abc", "zzz") is None


def test_safe_names_stay_inside_the_folder():
    assert safe_name("../../etc/passwd.pdf") == "passwd.pdf"
    assert safe_name("C:\\Users\\me\\Report.PDF") == "Report.pdf"
    assert safe_name(".hidden.md") == "hidden.md"
    assert safe_name("..") == "upload"
    assert safe_name("a\x00b<c>.txt") == "a_b_c_.txt"
    assert len(safe_name("x" * 500 + ".pdf").encode()) <= 200


def test_store_upload_suffixes_and_reuses(tmp_path):
    first = store_upload(tmp_path, "a.txt", b"one", max_bytes=100)
    same = store_upload(tmp_path, "a.txt", b"one", max_bytes=100)
    other = store_upload(tmp_path, "sub/a.txt", b"two", max_bytes=100)
    assert (first.outcome, same.outcome, other.outcome) == ("new", "same", "renamed")
    assert same.path == first.path and other.path.name == "a (2).txt"
    assert first.path.read_bytes() == b"one" and other.path.read_bytes() == b"two"
    with pytest.raises(UploadRejected, match="CITEQA_MAX_FILE_MB"):
        store_upload(tmp_path, "big.txt", b"x" * 101, max_bytes=100)
    with pytest.raises(UploadRejected, match="unsupported"):
        store_upload(tmp_path, "x.exe", b"x", max_bytes=100)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".upload-")]


def _answer() -> Answer:
    hit = Hit("c1", "/docs/r.pdf", 2, "The rate was 0.3. Other text.", 0.82)
    evidence = (Evidence(1, hit, 0, 17, "The rate was 0.3.", 1.1),)
    return Answer(
        question="What rate?",
        text=evidence_text(evidence) + GENERATED_HEADER + "The rate was 0.3 [1].",
        abstained=False,
        sources=(hit,),
        citations=(Citation(1, hit, "The rate was 0.3."),),
        sentences=(
            Sentence("The rate was 0.3 [1].", (1,), True, 0.9),
            Sentence("It was *set* by the moon [1].", (1,), False, 0.1),
        ),
        evidence=evidence,
        answer_kind="generated",
        quoted=evidence_text(evidence),
        generated="The rate was 0.3 [1].",
    )


def test_answer_markdown_shows_evidence_then_supported_sentences_only():
    a = _answer()
    md = answer_markdown(a)
    assert md.index("Quoted from your documents") < md.index(":blue-badge[1] “The rate was 0.3.”") < md.index("In short")
    assert "r.pdf, p. 2" in md and "moon" not in md
    flagged = unsupported_markdown(a)
    assert "~~It was \\*set\\* by the moon" in flagged and flagged.count(":orange-badge[not supported by your documents]") == 1


def test_timings_never_show_the_whole_answer_faster_than_its_evidence():
    from citeqa.app.chat import _timings

    fast = dataclasses.replace(_answer(), timings=Timings(evidence_s=0.046, total_s=0.047))
    assert _timings(fast) == "evidence 0.05 s · total 0.05 s"  # was "total 0.0 s"
    slow = dataclasses.replace(_answer(), timings=Timings(evidence_s=0.2, first_token_s=1.5, total_s=12.34))
    assert _timings(slow) == "evidence 0.20 s · first token 1.50 s · total 12.3 s"


def test_transcript_has_answers_and_sources():
    shown = Display({"/docs/r.pdf": "reports/r.pdf"})
    md = transcript_markdown([Turn("What rate?", _answer()), Turn("Broken?", error="model failed")], shown)
    assert "## Q1. What rate?" in md and "[1] “The rate was 0.3.” (r.pdf, p. 2)" in md
    assert "**[1]** reports/r.pdf, p. 2 (score 0.82)" in md and "> The rate was 0.3. Other text." in md
    assert "/docs/" not in md  # the server's folders stay on the server
    assert f"*Scores: {score_help('passage', 'hybrid')}*" in md
    assert "not supported by your documents" in md and "~~It was *set* by the moon [1].~~" in md
    assert "**Error:** model failed" in md

    uncited = dataclasses.replace(_answer(), text="It is 0.3.", citations=(), sentences=())
    md = transcript_markdown([Turn("What rate?", uncited)])
    assert "### Retrieved passages (none cited)" in md and "**[1]** r.pdf, p. 2" in md


def test_page_render_marks_the_quote():
    pdf = SAMPLE_DOCS / "aurora_lake_field_station_2023.pdf"
    page = render_page(pdf, 2, ["The station recorded the lake's maximum depth as 47 metres"])
    assert page.highlighted and page.png.startswith(b"\x89PNG") and page.pages == 3
    assert not render_page(pdf, 2, ["words that are nowhere on this page at all"]).highlighted
    with pytest.raises(ValueError):
        render_page(pdf, 9)


def test_match_spans_ignores_spacing_hyphens_and_ligatures():
    chars = list("max-\r\nimum depth is 47 metres, de\ufb01ned by sonar")
    ((a, b),) = match_spans(chars, "maximum depth is 47 metres, defined by sonar")
    assert a == 0 and b == len(chars)
    assert match_spans(chars, "short") == []
