"""`citeqa eval`: metric functions on hand-made inputs, the CLI on a SQuAD subset, the full run (slow)."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.cli import cli
from citeqa.core.errors import CiteqaError, ConfigError
from citeqa.core.types import Hit, Sentence
from citeqa.evaluation import metrics, runner
from citeqa.evaluation import report as table
from citeqa.questions import Question, read_questions
from tests.conftest import CORPUS, make_settings

SQUAD = CORPUS / "squad"


@pytest.fixture(scope="session")
def squad() -> Path:
    if not (SQUAD / "questions.jsonl").is_file():
        pytest.skip(f"SQuAD evaluation set not found at {SQUAD}: it ships beside the repo in CI only")
    return SQUAD


def _hit(text: str, source: str = "/docs/normans.txt") -> Hit:
    return Hit(chunk_id=text[:8], source=source, page=None, text=text, score=1.0)


# -- metric functions -----------------------------------------------------------


def test_normalize_and_contains_answer() -> None:
    assert metrics.normalize("  The\n10th  and\t11th ") == "the 10th and 11th"
    assert metrics.contains_answer("in the 10th and\n11th centuries", ["10TH AND 11th"])
    assert not metrics.contains_answer("in the 10th century", ["11th"])
    assert not metrics.contains_answer("anything", [])
    assert not metrics.contains_answer("anything", ["", "  "])  # an empty answer matches nothing


def test_hits_must_come_from_the_gold_file_by_name() -> None:
    q = Question(id="1", question="When?", answers=("1066",), source="normans.txt")
    assert metrics.is_hit(_hit("in 1066 they came", "/any/folder/normans.txt"), q)
    assert not metrics.is_hit(_hit("in 1066 they came", "/docs/huguenot.txt"), q)
    assert not metrics.is_hit(_hit("in 1067 they came"), q)
    anywhere = Question(id="2", question="When?", answers=("1066",))
    assert metrics.is_hit(_hit("in 1066", "/x/other.pdf"), anywhere)
    hits = [_hit("nothing"), _hit("also nothing"), _hit("in 1066"), _hit("1066 again")]
    assert metrics.first_hit_rank(hits, q) == 3
    assert metrics.first_hit_rank(hits[:2], q) is None


def test_hit_at_and_mrr() -> None:
    ranks = [1, 2, None, 5, 11]
    assert metrics.hit_at(ranks, 1) == pytest.approx(1 / 5)
    assert metrics.hit_at(ranks, 5) == pytest.approx(3 / 5)
    assert metrics.hit_at(ranks, 10) == pytest.approx(3 / 5)
    assert metrics.mrr_at(ranks, 10) == pytest.approx((1 + 1 / 2 + 1 / 5) / 5)
    assert metrics.mrr_at(ranks, 1) == pytest.approx(1 / 5)
    assert metrics.hit_at([], 5) == 0.0 and metrics.mrr_at([], 5) == 0.0


def test_unsupported_shown_counts_sentences_shown_outside_the_supported_ones() -> None:
    supported = Sentence("[1] WizardMath outperforms all other open-source LLMs on GSM8k.", (1,), True, 0.9)
    cut = Sentence("WizardMath outperforms all", (), False, 0.2)  # a repeat the model cut off
    invented = Sentence("It cost 3 million dollars [1].", (1,), False, 0.1)
    written = supported.text
    assert metrics.unsupported_shown(written, [supported, cut, invented]) == 0
    assert metrics.unsupported_shown(f"{written} {invented.text}", [supported, cut, invented]) == 1
    assert metrics.unsupported_shown(f"{written} {cut.text}", [supported, cut]) == 1


def test_abstention_rate_and_calibration() -> None:
    rel = [0.1, 0.2, 0.3, 0.4]
    assert metrics.abstention_rate(rel, 0.3) == pytest.approx(0.5)  # strictly below abstains, as in is_relevant
    assert metrics.abstention_rate([], 0.3) is None
    # 100 answerable questions, relevance 0.00 .. 0.99: at most 5 may be abstained on.
    answerable = [i / 100 for i in range(100)]
    t = metrics.calibrate(answerable)
    assert t == pytest.approx(0.05)
    assert metrics.abstention_rate(answerable, t) <= 0.05 < metrics.abstention_rate(answerable, t + 0.011)
    assert metrics.calibrate([0.4567] * 10) == pytest.approx(0.456)  # rounded down: never abstains more
    assert metrics.calibrate([0.7, 0.9], max_wrong=0.0) == pytest.approx(0.7)
    assert metrics.calibrate([]) is None
    assert metrics.calibrate([-math.inf] * 3 + [0.5]) is None  # empty results abstain whatever the threshold


def test_load_questions_and_its_errors(tmp_path: Path) -> None:
    f = tmp_path / "q.jsonl"
    f.write_text(
        '{"id": "a", "question": "Q1?", "answers": ["x"], "source": "d/n.txt"}\n\n'
        '{"question": "Q2?", "answers": []}\n'
        '{"question": "Q3?", "answers": "y", "answerable": true}\n'
    )
    qs = list(read_questions(f))
    assert qs == [
        Question(id="a", question="Q1?", answers=("x",), answerable=True, source="d/n.txt"),
        Question(id="3", question="Q2?", answers=(), answerable=False, source=None),
        Question(id="4", question="Q3?", answers=("y",), answerable=True, source=None),
    ]
    assert len(list(read_questions(f, limit=2))) == 2
    for bad, msg in [
        ("not json", "not valid JSON"),
        ('{"q": 1}', "field 'question': Field required"),
        ('{"question": "  "}', "field 'question': Value error, must not be blank"),
        ('{"question": "Q?", "answers": [1]}', r"field 'answers.0': Input should be a valid string"),
        ('{"question": "Q?", "answerable": true}', "needs at least one answer"),
        ('{"question": "Q?", "answers": ["a"], "source": 3}', "field 'source': Input should be a valid string"),
    ]:
        f.write_text(bad + "\n")
        with pytest.raises(CiteqaError, match=msg):
            list(read_questions(f))
    f.write_text("\n")
    with pytest.raises(CiteqaError, match="no questions"):
        list(read_questions(f))


def test_parse_modes() -> None:
    assert runner.parse_modes("dense, bm25,hybrid,dense") == ["dense", "bm25", "hybrid"]
    assert runner.parse_modes("hybrid-rrf") == ["hybrid-rrf"]
    with pytest.raises(ConfigError, match="unknown mode"):
        runner.parse_modes("dense,fuzzy")


def _report() -> runner.Report:
    r = runner.Report(questions=4, answerable=2, unanswerable=2, top_k=4, min_score=0.47, default_mode="hybrid")
    for name, base in [("dense", 0.5), ("hybrid", 0.75)]:
        r.modes[name] = runner.ModeResult(
            mode=name,
            questions=2,
            hit={k: min(1.0, base + k / 20) for k in range(1, 11)},
            mrr=base,
            abstained_unanswerable=0.5,
            abstained_answerable=0.0,
            calibrated_min_score=0.5,
            calibrated_abstained_unanswerable=1.0,
            seconds=1.0,
            evidence={1: base - 0.1, 2: base, 3: base + 0.05},
        )
    r.answers["never"] = runner.AnswerResult(
        mode="never", questions=4, answerable=2, answer_contains_gold=0.5, evidence={1: 0.5, 2: 0.5, 3: 1.0},
        cited_contains_gold=0.5, grounded=1.0, generated=0.0, sentences=0, sentences_supported=None,
        unsupported_shown=0, abstained_unanswerable=0.5, abstained_answerable=0.0, seconds=1.0,
    )  # fmt: skip
    return r


def test_table_json_and_plot(tmp_path: Path) -> None:
    r = _report()
    text = table.format_table(r)
    assert "hybrid*" in text and "dense " in text and "0.800" in text  # hybrid hit@1
    assert "ev@2" in text and "0.750 0.800" in text  # hybrid evidence@2, @3
    assert "never" in text and "gold in answer" in text and "unsupported shown" in text
    d = r.to_dict()
    assert d["retrieval"]["hybrid"]["hit@1"] == 0.8 and len(d["retrieval"]["dense"]["hit_curve"]) == 10
    assert d["retrieval"]["hybrid"]["evidence@2"] == 0.75 and d["answers"]["never"]["unsupported_shown"] == 0
    json.dumps(d)
    png = tmp_path / "curves.png"
    table.plot(r, png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(CiteqaError, match="cannot write"):
        table.plot(r, tmp_path / "no-such-dir" / "x.png")


# -- the CLI on a subset ----------------------------------------------------------


def test_eval_cli_on_one_article(squad: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(squad / "docs" / "normans.txt", docs)
    lines = [x for x in (squad / "questions.jsonl").read_text().splitlines() if '"normans.txt"' in x][:60]
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(lines) + "\n")
    n_answerable = sum(json.loads(x)["answerable"] for x in lines)
    monkeypatch.setenv("CITEQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CITEQA_WORKERS", "1")
    monkeypatch.chdir(tmp_path)
    run = CliRunner().invoke
    png = tmp_path / "hits.png"

    r = run(
        cli,
        [
            "eval",
            str(qfile),
            "--docs",
            str(docs),
            "--modes",
            "dense,bm25,hybrid",
            "--json",
            "--plot",
            str(png),
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["questions"], out["answerable"], out["unanswerable"]) == (60, n_answerable, 60 - n_answerable)
    assert out["default_mode"] == "hybrid" and out["top_k"] == 4 and out["answers"] is None
    assert list(out["retrieval"]) == ["dense", "bm25", "hybrid"]
    for m in out["retrieval"].values():
        assert set(m) >= {"hit@1", "hit@5", "hit@10", "mrr@10", "hit_curve", "abstained_unanswerable"}
        assert 0 <= m["hit@1"] <= m["hit@5"] <= m["hit@10"] <= 1 and m["hit@1"] <= m["mrr@10"] <= m["hit@10"]
        assert m["hit_curve"] == sorted(m["hit_curve"])
        assert 0 <= m["abstained_unanswerable"] <= 1 and 0 <= m["abstained_answerable"] <= 0.2
    # One article is an easy index: the answer is nearly always in the top 5.
    assert out["retrieval"]["hybrid"]["hit@5"] >= 0.85
    assert png.read_bytes()[:4] == b"\x89PNG"

    # Second run: the index already holds the docs (nothing re-ingested); a table, one mode, a limit.
    r = run(cli, ["eval", str(qfile), "--docs", str(docs), "--mode", "bm25", "--limit", "10"])
    assert r.exit_code == 0, r.output
    assert "10 questions" in r.stdout and "bm25*" not in r.stdout and "bm25 " in r.stdout

    r = run(cli, ["eval", str(qfile), "--modes", "dense,nope"])
    assert r.exit_code == 1 and "unknown mode" in r.output
    r = run(cli, ["eval", str(qfile), "--mode", "dense", "--modes", "bm25"])
    assert r.exit_code == 2


def test_eval_cli_answers(squad: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--answers asks the chat model (the tiny bundled one here: accuracy itself is not judged)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(squad / "docs" / "normans.txt", docs)
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        json.dumps(
            {
                "question": "In what country is Normandy located?",
                "answers": ["France"],
                "source": "normans.txt",
            }
        )
        + "\n"
        + json.dumps(
            {"question": "Who was the duke in the battle of Hastings?", "answers": ["William the Conqueror"]}
        )
        + "\n"
    )
    for k, v in {"CITEQA_DATA_DIR": tmp_path / "data", "CITEQA_WORKERS": 1, "CITEQA_MAX_TOKENS": 48}.items():
        monkeypatch.setenv(k, str(v))
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["eval", str(qfile), "--docs", str(docs), "--answers", "never,always", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["retrieval"]["hybrid"]["evidence@2"] == 0.5  # "William the Conqueror" is quoted; "France" is not
    never, always = out["answers"]["never"], out["answers"]["always"]
    assert never["questions"] == always["questions"] == 2
    assert never["answer_contains_gold"] == 0.5 and never["evidence"]["evidence@2"] == 0.5 and never["sentences"] == 0
    assert never["grounded"] == 1.0 and never["abstained_answerable"] == 0.0
    assert always["sentences"] >= 1  # the demo model wrote something, and each sentence was checked
    assert always["unsupported_shown"] == never["unsupported_shown"] == 0
    assert always["answer_contains_gold"] >= 0.5  # the evidence leads whatever the model writes


# -- the whole set ------------------------------------------------------------------


@pytest.mark.slow
def test_full_squad_meets_the_retrieval_targets(squad: Path, tmp_path: Path, embedder) -> None:
    from citeqa.engine import Citeqa

    with Citeqa(make_settings(tmp_path / "data"), embedder=embedder) as qa:
        assert not qa.ingest([squad / "docs"]).failed
        questions = list(read_questions(squad / "questions.jsonl"))
        report = runner.run(qa, questions, modes=["dense", "bm25", "hybrid"])
    assert report.answerable == 1062
    dense, bm25, hybrid = (report.modes[m] for m in ("dense", "bm25", "hybrid"))
    assert hybrid.hit[5] >= 0.95 and hybrid.hit[1] >= 0.78
    for k in range(1, 11):
        assert hybrid.hit[k] >= max(dense.hit[k], bm25.hit[k]), k
    # The default threshold alone wrongly abstains on at most 5% of answerable questions; it was
    # lowered (0.47 -> 0.44) when the subject and stated-value checks of citeqa.answer.asked joined
    # it, so on its own it now catches about 8% of the unanswerable ones (SQuAD 2.0's are written
    # against the very paragraph they seem to ask about).
    assert hybrid.abstained_answerable is not None and hybrid.abstained_answerable <= 0.05
    assert hybrid.abstained_unanswerable is not None and hybrid.abstained_unanswerable >= 0.07


@pytest.mark.slow
def test_squad_answers_abstain_as_calibrated(squad: Path, tmp_path: Path, embedder) -> None:
    """All reasons to abstain together, as `ask` decides (every fourth question, to keep it short;
    on all 2,170: 4.7% of the answerable wrongly, 13.4% of the unanswerable, gold held 0.864)."""
    from citeqa.engine import Citeqa

    with Citeqa(make_settings(tmp_path / "data"), embedder=embedder) as qa:
        assert not qa.ingest([squad / "docs"]).failed
        questions = list(read_questions(squad / "questions.jsonl"))[::4]
        report = runner.run(qa, questions, modes=["hybrid"], answers=["never"])
    never = report.answers["never"]
    assert never.abstained_answerable <= 0.06
    assert never.abstained_unanswerable is not None and never.abstained_unanswerable >= 0.11
    assert never.answer_contains_gold >= 0.84 and never.unsupported_shown == 0
    assert set(never.reasons) <= {"no_relevant_passage", "subject_not_in_documents", "no_sentence_states_value"}
