"""The question's subject against the index (#21): a name the documents never mention is said to be
missing; a quote about another subject is never shown; the index's vocabulary follows ingest,
re-ingest, removal and pruning, on milvus-lite and on a Milvus server; every edge says the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from citeqa.answer.prompt import NOT_IN_DOCS
from citeqa.cli import cli
from citeqa.core.settings import Settings
from citeqa.engine import Citeqa

KESTREL = """# Kestrel K2 grinder

The Kestrel K2 grinder is sold with a warranty of 3 years on the motor.
The burrs of the Kestrel K2 are made of hardened steel.
"""
OSPREY = """# Osprey O3 kettle

The Osprey O3 kettle is sold with a warranty of 18 months.
It boils one litre of water in about four minutes.
"""
# Names the grinder in passing, far from its own numbers: not about the grinder.
CATALOGUE = """# Catalogue

Our shop also sells grinders, such as the Kestrel K2, and kettles.

""" + "\n\n".join(
    f"Section {i}. Opening hours are nine to five on weekdays, and the shop is closed on public holidays."
    for i in range(1, 40)
) + """

The gift card is valid for 2 years after purchase and cannot be exchanged for cash.
"""


def _ask(engine: Citeqa, question: str):
    return engine.ask(question, generate="never")


def test_the_index_vocabulary_follows_every_change(backend_settings: Settings, tmp_path: Path, embedder, generator) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kestrel.md").write_text(KESTREL)
    (docs / "catalogue.md").write_text(CATALOGUE)
    with Citeqa(backend_settings, embedder=embedder, generator=generator) as engine:
        assert not engine.ingest([docs]).failed
        a = _ask(engine, "How long is the warranty on the Kestrel K2?")
        assert not a.abstained and "3 years" in a.text and "kestrel.md" in a.evidence[0].hit.source
        # never the catalogue's gift card (a duration, and the catalogue mentions the K2 in passing)
        assert "gift card" not in a.text

        a = _ask(engine, "How long is the warranty on the Osprey O3?")
        assert a.abstained and a.abstain_reason == "subject_not_in_documents" and a.missing_subject == "Osprey O3"
        assert a.text == f"{NOT_IN_DOCS} Your documents do not mention Osprey O3."

        # re-ingest: the grinder's page now describes the kettle
        (docs / "kestrel.md").write_text(OSPREY)
        assert not engine.ingest([docs]).failed
        a = _ask(engine, "How long is the warranty on the Osprey O3?")
        assert not a.abstained and "18 months" in a.text
        a = _ask(engine, "How long is the warranty on the Kestrel K2?")
        # the catalogue still names it, in passing: no quote about another thing, no "not mentioned"
        assert a.abstained and a.abstain_reason != "subject_not_in_documents" and "gift card" not in a.text

        # removal
        engine.remove([str(docs / "catalogue.md")])
        a = _ask(engine, "How long is the warranty on the Kestrel K2?")
        assert a.abstained and a.abstain_reason == "subject_not_in_documents"

        # prune: a deleted file's names go with it
        (docs / "kestrel.md").unlink()
        (docs / "other.md").write_text("# Heron\n\nThe heron nests by the lake every spring.\n")
        engine.ingest([docs], prune=True)
        a = _ask(engine, "How long is the warranty on the Osprey O3?")
        assert a.abstained and a.missing_subject == "Osprey O3"


def test_every_edge_reports_the_missing_subject(tmp_path: Path, monkeypatch) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "kestrel.md").write_text(KESTREL)
    env = {"CITEQA_DATA_DIR": str(tmp_path / "data"), "CITEQA_WORKERS": "1", "CITEQA_GENERATE": "never"}
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", str(docs)], env=env).exit_code == 0
    r = runner.invoke(cli, ["ask", "How long is the warranty on the Heron H9?", "--json"], env=env)
    out = json.loads(r.stdout)
    assert out["abstained"] and out["abstain_reason"] == "subject_not_in_documents"
    assert out["missing_subject"] == "Heron H9" and "do not mention Heron H9" in out["answer"]
    r = runner.invoke(cli, ["ask", "How long is the warranty on the Heron H9?"], env=env)
    assert "Your documents do not mention Heron H9." in r.output
    assert "Quoted from your documents" not in r.output


@pytest.mark.slow
def test_papers_the_corpus_does_not_answer(corpus: Path, tmp_path: Path, embedder, generator) -> None:
    """The issue's own examples over the six papers."""
    from tests.conftest import make_settings

    with Citeqa(make_settings(tmp_path / "data"), embedder=embedder, generator=generator) as engine:
        assert not engine.ingest([corpus / "pdfs"]).failed
        # BERT is cited in passing by Fusion-in-Decoder; its learning rate is not in these papers
        a = _ask(engine, "What learning rate does BERT use for fine-tuning?")
        assert a.abstained and "learning rate" not in a.text
        a = _ask(engine, "What top-1 accuracy does EfficientNet-B7 reach on ImageNet?")
        assert a.abstained and a.missing_subject == "EfficientNet-B7"
        # the method's own dropout rate (p. 4), not sentences that only name it
        a = _ask(engine, "What dropout rate did Fusion-in-Decoder use?")
        assert not a.abstained and "10%" in a.evidence[0].quote and a.evidence[0].hit.page == 4
        # a follow-up that swaps the subject
        first = _ask(engine, "What top-5 validation error does the single 152-layer ResNet reach?")
        assert "4.49%" in first.text
        a = engine.ask(
            "And for ResNet-34?",
            history=[("user", "What top-5 validation error does the single 152-layer ResNet reach?"), ("assistant", first.text)],
            generate="never",
        )
        assert a.standalone_question and "ResNet-34" in a.standalone_question
