"""The int8 ONNX embedding backend against the model as shipped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from citeqa.core import bundled
from citeqa.retrieval import onnx_int8
from citeqa.retrieval.embedder import Embedder
from tests.conftest import make_settings

TEXTS = [
    "Who gave their name to Normandy?",
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region "
    "in France. They were descended from Norse raiders and pirates from Denmark, Iceland and Norway.",
    "Steam engines",
    "A steam engine is a heat engine that performs mechanical work using steam as its working fluid. " * 6,
    "The lake is 47 metres deep at its deepest point.",
]


def test_int8_vectors_match_torch(tmp_path: Path) -> None:
    base = make_settings(tmp_path / "d")
    torch_e = Embedder.from_settings(base.model_copy(update={"embed_backend": "torch"}))
    int8_e = Embedder.from_settings(base.model_copy(update={"embed_backend": "onnx-int8"}))
    assert (torch_e.backend, int8_e.backend) == ("torch", "onnx-int8")
    assert int8_e.dim == torch_e.dim == 384
    a, b = torch_e.embed_documents(TEXTS), int8_e.embed_documents(TEXTS)
    assert b.shape == a.shape and np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-4)
    # A text's vector does not depend on the texts embedded with it (abstention compares a
    # question's relevance from `ask` with thresholds calibrated by a batched `eval`).
    alone = np.stack([int8_e.embed_documents([t])[0] for t in TEXTS])
    assert np.array_equal(alone, b)
    assert np.array_equal(int8_e.embed_documents(TEXTS[::-1]), b[::-1])
    assert float((a * b).sum(axis=1).min()) > 0.98
    # the question ranks the passages the same way under both
    assert np.argmax(a[1:] @ a[0]) == np.argmax(b[1:] @ b[0]) == 0


def test_int8_vectors_do_not_depend_on_thread_count(tmp_path: Path) -> None:
    base = make_settings(tmp_path / "d")
    one = Embedder.from_settings(base.model_copy(update={"embed_threads": 1}))
    three = Embedder.from_settings(base.model_copy(update={"embed_threads": 3}))
    texts = TEXTS * 3
    assert np.array_equal(one.embed_documents(texts), three.embed_documents(texts))
    assert np.array_equal(three.embed_documents(texts[:1]), one.embed_documents(texts[:1]))


def test_export_fuses_attention(tmp_path: Path) -> None:
    import onnx

    path = onnx_int8.ensure_exported(bundled.embedder_path(), make_settings(tmp_path / "d").cache_dir)
    ops = [n.op_type for n in onnx.load(str(path), load_external_data=False).graph.node]
    # The speed of the int8 backend comes from these fused kernels; a silent fallback to the
    # unfused graph would still pass every other test.
    assert ops.count("QAttention") == 6 and "MatMulInteger" in ops


def test_export_is_cached_per_model(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "d")
    model = bundled.embedder_path()
    path = onnx_int8.ensure_exported(model, settings.cache_dir)
    stamp = path.stat().st_mtime_ns
    assert onnx_int8.ensure_exported(model, settings.cache_dir) == path
    assert path.stat().st_mtime_ns == stamp
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".export-")]


def test_models_it_cannot_export_use_torch(tmp_path: Path) -> None:
    model = bundled.embedder_path()
    cls = tmp_path / "cls-pooled"
    shutil.copytree(model, cls, ignore=shutil.ignore_patterns("*.safetensors", "*.bin"))
    for f in model.glob("*.safetensors"):
        (cls / f.name).symlink_to(f)
    pooling = cls / "1_Pooling" / "config.json"
    cfg = json.loads(pooling.read_text())
    pooling.write_text(json.dumps({**cfg, "pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    assert onnx_int8.supported(model) and not onnx_int8.supported(cls)
    e = Embedder(str(cls), backend="onnx-int8", cache_dir=tmp_path / "cache")
    assert e.backend == "torch"
    assert e.embed_documents(["hello"]).shape == (1, 384)
