"""retrieval.tokenizer against transformers' own tokenizer of the bundled model, on real text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from citeqa.core import bundled
from citeqa.retrieval.tokenizer import load

SAMPLE_DOCS = Path(__file__).resolve().parents[1] / "sample_docs"


@pytest.fixture(scope="module")
def pair():
    from transformers import AutoTokenizer

    model = str(bundled.embedder_path())
    return load(model), AutoTokenizer.from_pretrained(model, local_files_only=True)


def _texts() -> list[str]:
    texts = [p.read_text() for p in sorted(SAMPLE_DOCS.iterdir()) if p.suffix in {".md", ".txt"}]
    assert texts, "sample_docs has no text files"
    return [*texts, "Ünïcode naïve café — 47 m² ﬁ ligature", "", "   ", "x" * 300, " ".join(["word"] * 400)]


def test_counts_and_offsets_match_transformers(pair) -> None:
    ours, hf = pair
    assert ours.num_special == hf.num_special_tokens_to_add() == 2
    for text in _texts():
        assert ours.count(text) == len(hf(text, verbose=False)["input_ids"])
        assert ours.count(text, special=False) == len(hf.tokenize(text))
        hf_offsets = hf(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)["offset_mapping"]
        assert ours.offsets(text) == [tuple(o) for o in hf_offsets]


def test_the_models_own_128_token_cut_is_not_applied(pair) -> None:
    ours, _ = pair
    long = " ".join(["word"] * 400)
    # all-MiniLM-L6-v2's tokenizer.json truncates and pads to 128; chunk sizes must see the truth.
    assert ours.count(long) == 402


def test_model_inputs_match_transformers_truncation(pair) -> None:
    ours, hf = pair
    texts = _texts()
    enc = hf(texts, truncation=True, max_length=256)
    for i, e in enumerate(ours.encode(texts, 256)):
        assert e.input_ids.shape[0] == 1 and e.input_ids.dtype == np.int64
        assert e.input_ids[0].tolist() == enc["input_ids"][i]
        assert e.attention_mask[0].tolist() == enc["attention_mask"][i]
        assert e.token_type_ids[0].tolist() == enc["token_type_ids"][i]
    assert max(e.input_ids.shape[1] for e in ours.encode(texts, 256)) == 256
