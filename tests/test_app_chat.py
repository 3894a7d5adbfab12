"""The web chat through Streamlit's AppTest with real models and milvus-lite: the place in the
model's line, stopping an answer, example questions, document names and what scores mean."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import local_script_runner as lsr

from citeqa.app import examples
from citeqa.app.display import display_names, score_help
from citeqa.app.live import ordinal, waiting_text
from citeqa.core.settings import Settings
from tests.conftest import SAMPLE_DOCS
from tests.markdown_text import unescape_md
from tests.test_app import TIMEOUT, _ask, _ingest, _start, _texts

AURORA = "What was the maximum depth of Aurora Lake in the 2023 survey?"
DEPTH_QUOTE = "The station recorded the lake's maximum depth as 47 metres"


@pytest.fixture
def runners(monkeypatch: pytest.MonkeyPatch) -> list[lsr.LocalScriptRunner]:
    """The script runners AppTest starts, so that a test can read what a run has sent to the page
    so far (while it is still running) and stop it as Streamlit does when a browser goes away."""
    made: list[lsr.LocalScriptRunner] = []
    init = lsr.LocalScriptRunner.__init__

    def record(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(lsr.LocalScriptRunner, "__init__", record)
    return made


def _sent(runner: lsr.LocalScriptRunner) -> list[str]:
    """Every Markdown body the run has sent to the page so far, in order (unescaped)."""
    out = []
    for msg in list(runner.forward_msgs()):
        element = msg.delta.new_element
        if msg.HasField("delta") and element.WhichOneof("type") == "markdown":
            out.append(unescape_md(element.markdown.body))
    return out


def _until(what: Callable[[], object], message: str, timeout: float = TIMEOUT) -> object:
    deadline = time.monotonic() + timeout
    while not (got := what()):
        assert time.monotonic() < deadline, message
        time.sleep(0.02)
    return got


def _shown(runners: list, text: str) -> Callable[[], str | None]:
    return lambda: next((body for body in (_sent(runners[-1]) if runners else []) if text in body), None)


def _in_background(at: AppTest, question: str) -> threading.Thread:
    """Ask in the app from another thread (AppTest blocks until the run ends)."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            at.chat_input[0].set_value(question).run()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.errors = errors  # type: ignore[attr-defined]
    thread.start()
    return thread


def _engine():
    """The app's engine (one per process, shared by every session, as in `citeqa app`)."""
    from citeqa.app.state import get_engine

    return get_engine(Settings.load())


def _generating(monkeypatch: pytest.MonkeyPatch, tokens: int = 64) -> None:
    monkeypatch.setenv("CITEQA_GENERATE", "always")  # the demo model otherwise answers with evidence only
    monkeypatch.setenv("CITEQA_MAX_TOKENS", str(tokens))


# -- the place in line ------------------------------------------------------------------


def test_a_waiting_session_sees_its_place_and_the_evidence_first(app_env, embedder, runners, monkeypatch):
    _ingest(app_env, embedder, [SAMPLE_DOCS])
    _generating(monkeypatch)
    at = _start()
    engine = _engine()
    first = engine.turns.turn()  # another session's answer is being generated
    second: list = []
    other = threading.Thread(target=lambda: second.append(engine.turns.turn()), daemon=True)
    other.start()  # and a third session asked before this one
    _until(lambda: engine.turns.waiting == 1, "the other session is not in line")

    asking = _in_background(at, AURORA)
    body = _until(_shown(runners, "you are 2nd in line"), "no 'you are 2nd in line' while two are ahead")
    assert "Waiting for the model: you are 2nd in line" in body
    assert DEPTH_QUOTE in body and body.index(DEPTH_QUOTE) < body.index("in line")  # the evidence is already there

    first.release()  # first come, first served: the session that asked earlier goes next
    _until(lambda: second, "the session that asked first did not get the model")
    body = _until(_shown(runners, "you are next in line"), "the place in line did not move up")
    assert engine.turns.running == 1 and engine.turns.waiting == 1  # this session still waits its turn
    second[0].release()

    asking.join(TIMEOUT)
    assert not asking.is_alive() and not asking.errors, asking.errors
    assert not at.exception, [e.value for e in at.exception]
    assert engine.turns.running == 0 and engine.turns.waiting == 0
    text = _texts(at)
    assert DEPTH_QUOTE in text and "waited for the model" in text
    assert "in line" not in text  # the final answer replaces the wait


def test_place_in_line_wording():
    assert [waiting_text(n) for n in (1, 2, 3)] == [
        "Waiting for the model: you are next in line",
        "Waiting for the model: you are 2nd in line",
        "Waiting for the model: you are 3rd in line",
    ]
    assert [ordinal(n) for n in (4, 11, 12, 13, 21, 22, 101, 111)] == ["4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]


# -- stopping -------------------------------------------------------------------------------


def test_stopping_a_running_answer_frees_the_model_and_keeps_the_evidence(app_env, embedder, runners, monkeypatch):
    _ingest(app_env, embedder, [SAMPLE_DOCS])
    _generating(monkeypatch, tokens=400)  # long enough to be stopped part way
    at = _start()
    engine = _engine()
    asking = _in_background(at, AURORA)
    _until(_shown(runners, "▌"), "the model never started writing")
    assert engine.turns.running == 1
    # What Streamlit does on its own Stop and when the browser goes away (session disconnected).
    runners[-1].request_stop()
    asking.join(TIMEOUT)
    assert not asking.is_alive()
    assert engine.turns.running == 0 and engine.turns.waiting == 0  # freed by the time the run ended

    at.run()  # the next run shows the stopped turn from the session's history
    assert not at.exception, [e.value for e in at.exception]
    [turn] = at.session_state["citeqa_turns"]
    assert turn.stopped and turn.answer is not None and DEPTH_QUOTE in turn.answer.text
    text = _texts(at)
    assert DEPTH_QUOTE in text and "Stopped: the answer is what was shown" in text
    assert not [b for b in at.button if b.key and b.key.startswith("citeqa_stop_")]  # only while it runs

    # The model serves the next question at once.
    _ask(at, "How long is the Kestrel K2 warranty?")
    assert "3 years" in _texts(at) and engine.turns.running == 0


def test_stopping_while_waiting_leaves_the_line(app_env, embedder, runners, monkeypatch):
    _ingest(app_env, embedder, [SAMPLE_DOCS])
    _generating(monkeypatch)
    at = _start()
    engine = _engine()
    held = engine.turns.turn()
    try:
        asking = _in_background(at, AURORA)
        body = _until(_shown(runners, "you are next in line"), "no place in line shown")
        assert DEPTH_QUOTE in body
        assert any(b.button.label == "Stop" for b in _buttons(runners[-1]))
        runners[-1].request_stop()
        asking.join(TIMEOUT)
        _until(lambda: engine.turns.waiting == 0, "the stopped session is still in line", timeout=5)
    finally:
        held.release()
    assert engine.turns.running == 0
    at.run()
    [turn] = at.session_state["citeqa_turns"]
    assert turn.stopped and DEPTH_QUOTE in turn.answer.text  # the evidence is its answer
    assert turn.answer.answer_kind == "extractive" and not turn.answer.sentences


def _buttons(runner: lsr.LocalScriptRunner) -> list:
    return [
        m.delta.new_element
        for m in list(runner.forward_msgs())
        if m.HasField("delta") and m.delta.new_element.WhichOneof("type") == "button"
    ]


# -- example questions -------------------------------------------------------------------


def test_examples_each_retrieve_their_own_document(app_env, embedder, tmp_path, monkeypatch):
    _ingest(app_env, embedder, [SAMPLE_DOCS])
    at = _start()
    buttons = [b for b in at.button if b.key and b.key.startswith("citeqa_example_")]
    assert 2 <= len(buttons) <= examples.SHOWN
    engine = _engine()
    docs = engine.documents()
    found = examples.examples(engine, docs, {})
    assert [unescape_md(b.label) for b in buttons] == [e.question for e in found]
    assert len({e.source for e in found}) == len(found)  # one per document
    for e in found:
        stream = engine.ask_stream(e.question, generate=False)
        stream.close()
        assert stream.evidence and stream.evidence[0].hit.source == e.source, e
        assert stream.sources[0].source == e.source or stream.evidence[0].n <= 2, e

    # Cached per state of the index: asked again, nothing is retrieved; after an ingest, found anew.
    calls: list[str] = []
    real = type(engine).ask_stream
    monkeypatch.setattr(type(engine), "ask_stream", lambda self, q, **kw: calls.append(q) or real(self, q, **kw))
    assert examples.examples(engine, docs, {}) == found and not calls
    extra = tmp_path / "extra" / "pumps.md"
    extra.parent.mkdir()
    extra.write_text("# Pump log\n\n## Blue pump\n\nThe blue pump at Site Nine was serviced on 4 May 2024 by Ada Vance.\n")
    engine.ingest([extra])
    again = examples.examples(engine, engine.documents(), {})
    assert calls and again[0].source == str(extra)  # the newest document first

    # A click asks it: the evidence of its document, with its [n] badge.
    at.run()
    pick = next(b for b in at.button if b.key == "citeqa_example_0")
    question = unescape_md(pick.label)
    pick.click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["citeqa_turns"][0].question == question
    answer = next(m for m in at.chat_message if m.name == "assistant")
    first = unescape_md(answer.markdown[0].value)
    assert first.startswith("**Quoted from your documents:**") and ":blue-badge[1]" in first
    assert "pumps.md" in first and "serviced on 4 May 2024" in first
    assert not [b for b in at.button if b.key and b.key.startswith("citeqa_example_")]  # gone once asked


def test_example_candidates_from_facts_and_headings():
    from citeqa.core.types import Hit

    fact = "The group approved an extra 38,000 euros for load testing."
    doc = [
        Hit("a", "/d/heron.txt", None, "Project Heron - steering group meeting\nDate: 14 March 2024\n\n1. Launch date\n"
            f"The launch moved to June.\n\n2. Budget\n{fact}\n\n3. References\nNone.\n", 0.0),
    ]  # fmt: skip
    cands = examples.candidates(doc, "/d/heron.txt", "heron.txt")
    first = cands[0]
    assert first.question == "What do the documents say about the load testing?" and first.section == fact
    assert [c.question for c in cands[1:]] == [
        "What do the documents say about “Launch date”?",
        "What do the documents say about “Budget”?",
    ]  # "References" makes no example
    assert cands[2].section == fact
    assert first.level("/d/heron.txt", fact) == 2  # the very sentence
    assert first.level("/d/other.txt", fact) == 0  # another document
    assert cands[1].level("/d/heron.txt", "Launch date") == 0  # a heading is no answer
    assert cands[1].level("/d/heron.txt", "Next year the launch date moves again.") == 1  # on the topic
    assert cands[1].level("/d/heron.txt", "It covers the launch date and the budget.") == 0  # lists sections

    paper = [Hit("p", "/d/p.pdf", 1, "arXiv:1502.03167v3 [cs.LG] 2 Mar 2015\nBatch Normalization: Accelerating Deep Network Training by\n", 0.0)]
    assert examples.title_of(paper, "p.pdf") == "Batch Normalization"
    rarity = {"maximum": 2.0, "depth": 2.0, "lake's": 1.0, "recorded": 2.0, "station": 0.1, "the": 0.0}
    assert examples.phrase("The station recorded the lake's maximum depth as 47 metres.", rarity) == "lake's maximum depth"  # a whole noun phrase, no verb


# -- names and scores -----------------------------------------------------------------------


def test_passages_are_named_inside_their_folder_and_scores_explained(app_env, embedder, tmp_path, monkeypatch):
    library = tmp_path / "srv" / "private" / "library"
    (library / "manuals").mkdir(parents=True)
    (library / "reports").mkdir()
    shutil.copy(SAMPLE_DOCS / "kestrel_k2_handbook.md", library / "manuals")
    shutil.copy(SAMPLE_DOCS / "aurora_lake_field_station_2023.pdf", library / "reports")
    _ingest(app_env, embedder, [library])
    monkeypatch.setenv("CITEQA_TOP_K", "3")
    at = _start()
    at.file_uploader[0].set_value([("field notes.txt", b"The red valve at Site Four leaks slowly.\n", "text/plain")]).run()
    at.button(key="ingest-uploads").click().run()
    _ask(at, AURORA)
    assert not at.exception and not at.error

    everything = [
        *(m.value for m in at.markdown), *(c.value for c in at.caption), *(e.label for e in at.expander),
        *(h.proto.body for h in at.get("html")), *(str(i.proto) for i in at.get("imgs")),
        *(str(d.value) for d in at.dataframe), *(o for ms in at.multiselect for o in ms.options),
        *(str(w.proto) for w in at.get("download_button")),
    ]  # fmt: skip
    # No server path anywhere, but for the index's own place in the sidebar's "About this index"
    # (citeqa info's facts, issue 24: the app listens beyond loopback only behind a login).
    facts = ("**data dir**", "**milvus**")
    assert not [t for t in everything if str(tmp_path) in unescape_md(t) and not t.startswith(facts)]
    text = _texts(at)
    assert "reports/aurora_lake_field_station_2023.pdf, p. 2" in text  # inside the folder it was ingested from
    library_names = list(at.dataframe[-1].value["document"])
    assert sorted(library_names) == ["field notes.txt", "manuals/kestrel_k2_handbook.md", "reports/aurora_lake_field_station_2023.pdf"]

    # Every score shown says what it means, in the same words everywhere.
    passage_help = score_help("passage", "hybrid")
    assert "hybrid score = cosine similarity" in passage_help and "0.02 × BM25" in passage_help
    scored = [c for c in at.caption if "· score " in c.value]
    assert scored and all(c.help == passage_help for c in scored)
    evidence = [c for c in at.caption if "evidence score" in c.value]
    assert evidence and all(c.help == score_help("evidence") for c in evidence)
    assert any(passage_help in unescape_md(c.value) for c in at.caption)  # the library's index section


def test_display_names():
    names = display_names(
        ["/srv/u/papers/a.pdf", "/srv/u/papers/2023/b.pdf", "/srv/data/uploads/n.txt", "/x/notes/n.txt", "/one/file.md", "/old/y.md"],
        roots=["/srv/u/papers", "/x/notes", "/one/file.md"],
        uploads="/srv/data/uploads",
    )
    assert names == {
        "/srv/u/papers/a.pdf": "a.pdf",
        "/srv/u/papers/2023/b.pdf": "2023/b.pdf",
        "/srv/data/uploads/n.txt": "uploads/n.txt",  # the same name as another: one folder more each
        "/x/notes/n.txt": "notes/n.txt",
        "/one/file.md": "file.md",
        "/old/y.md": "y.md",  # ingested before roots were recorded: its name
    }
    assert display_names(["/a/../b/c.md"], roots=["/b"]) == {"/a/../b/c.md": "c.md"}


def test_engine_records_where_documents_came_from(engine, tmp_path):
    folder = tmp_path / "papers"
    (folder / "2023").mkdir(parents=True)
    shutil.copy(SAMPLE_DOCS / "kestrel_k2_handbook.md", folder / "2023")
    single = tmp_path / "notes.txt"
    single.write_text("The blue pump at Site Nine was serviced on 4 May.\n")
    assert engine.ingested_roots() == []
    engine.ingest([folder, single])
    engine.ingest([folder])  # known roots are not repeated
    [uploaded] = engine.ingest_uploads([("upload.txt", b"The red valve leaks.\n")])
    assert uploaded.result.status == "added"
    assert engine.ingested_roots() == [str(folder), str(single)]  # uploads are named apart
    docs = [d.path for d in engine.documents()]
    names = display_names(docs, engine.ingested_roots(), engine.settings.uploads_dir)
    assert sorted(names.values()) == ["2023/kestrel_k2_handbook.md", "notes.txt", "upload.txt"]

    passages = engine.passages(folder / "2023" / "kestrel_k2_handbook.md")
    assert len(passages) >= 2 and [p.index for p in passages] == sorted(p.index for p in passages)
    assert passages[0].text.startswith("# Kestrel K2 Espresso Grinder") and all(p.score == 0 for p in passages)
