"""An int8-quantized ONNX copy of a sentence-transformers model, exported locally and cached.

On CPUs without VNNI (this project's 2-core AVX2 machine), onnxruntime's dynamic int8 kernels
embed about 1.5x faster than torch in fp32 with a cosine of at least 0.98 to the fp32 vectors.
Weights are quantized per channel with a reduced range: full-range int8 on AVX2 saturates in
`vpmaddubsw` and dropped the worst cosine to 0.85.

Only the transformer is exported; mean pooling and normalisation run in numpy, so this covers
exactly the models whose sentence-transformers pipeline is Transformer → mean Pooling → Normalize.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from citeqa.errors import ModelError

log = logging.getLogger(__name__)

_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
_FORMAT = 1  # bump when the export or quantization recipe changes, so old caches are not reused


def supported(model_dir: Path) -> bool:
    """True when the folder is a Transformer → mean Pooling → Normalize sentence-transformers model."""
    try:
        modules = json.loads((model_dir / "modules.json").read_text())
        types = [m["type"] for m in modules]
        if types != [_TRANSFORMER, _POOLING, _NORMALIZE] or modules[0]["path"] != "":
            return False
        pooling = json.loads((model_dir / modules[1]["path"] / "config.json").read_text())
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return False
    others = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v and k != "pooling_mode_mean_tokens"]
    return bool(pooling.get("pooling_mode_mean_tokens")) and not others


def cached_path(model_dir: Path, cache_dir: Path) -> Path:
    """Where the quantized copy of `model_dir` lives: keyed by the weights, so a changed model
    is exported afresh rather than served stale."""
    h = hashlib.sha256(f"{_FORMAT}:{model_dir.resolve()}".encode())
    for f in sorted(model_dir.glob("*.safetensors")) + sorted(model_dir.glob("*.bin")) + [model_dir / "config.json"]:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return cache_dir / "onnx" / f"{model_dir.name}-{h.hexdigest()[:16]}-int8.onnx"


def ensure_exported(model_dir: Path, cache_dir: Path) -> Path:
    """The cached int8 ONNX file for `model_dir`, exporting it first if needed (torch, once)."""
    out = cached_path(model_dir, cache_dir)
    if out.exists():
        return out
    log.warning("preparing the int8 embedding model (once per model; cached in %s)", out.parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Temporary names in the same folder, then an atomic rename: two processes exporting at once
    # both succeed, and a killed export never leaves a half-written model behind.
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as tmp:
        fp32 = Path(tmp) / "model.onnx"
        int8 = Path(tmp) / "model-int8.onnx"
        try:
            # The tracer and the quantizer warn about things that do not apply to this graph
            # (shape checks traced as constants that hold for every padded batch): keep runs quiet.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                root = logging.getLogger()
                level = root.level
                root.setLevel(logging.ERROR)
                try:
                    _export_fp32(model_dir, fp32)
                    _quantize(fp32, int8)
                finally:
                    root.setLevel(level)
        except Exception as exc:
            raise ModelError(f"cannot export embedding model {str(model_dir)!r} to ONNX: {exc}") from exc
        os.replace(int8, out)
    return out


def _export_fp32(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    model = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    enc = tok(["a short one", "and a somewhat longer example sentence"], padding=True, return_tensors="pt")
    names = [n for n in _INPUTS if n in enc]

    class Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, *args: torch.Tensor) -> torch.Tensor:
            return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

    axes = {n: {0: "batch", 1: "seq"} for n in [*names, "hidden"]}
    with torch.no_grad():
        torch.onnx.export(
            Hidden(model),
            tuple(enc[n] for n in names),
            str(out),
            input_names=names,
            output_names=["hidden"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )


def _quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)


class OnnxEncoder:
    """Sentence embeddings from the int8 ONNX model: tokenize, run, mean-pool, normalise."""

    def __init__(self, onnx_path: Path, tokenizer, max_tokens: int, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        # Every batch has a new shape: the arena and memory patterns would keep the largest
        # buffers of each shape ever seen (over 1 GB after a few hundred passages).
        opts.enable_cpu_mem_arena = False
        opts.enable_mem_pattern = False
        self._session = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self._inputs = [i.name for i in self._session.get_inputs()]
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One text per run. Dynamic int8 quantization scales activations per run, so in a batch a
        text's vector would depend on its neighbours (cosine 0.99 between the two, and a
        question's relevance could move by 0.02 between `ask` and a batched `eval`). Alone, the
        same text always gets the same vector, with no padding to compute; on 2 cores this costs
        under 10% of throughput against batches of 16."""
        enc = self.tokenizer(list(texts), truncation=True, max_length=self.max_tokens)
        rows = []
        for i in range(len(texts)):
            feed = {n: np.asarray([enc[n][i]], dtype=np.int64) for n in self._inputs}
            hidden = self._session.run(None, feed)[0][0]
            rows.append(hidden.mean(axis=0))
        out = np.asarray(rows, dtype=np.float32)
        return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
