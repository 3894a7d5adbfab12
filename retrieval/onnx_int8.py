"""An int8-quantized ONNX copy of a sentence-transformers model, exported locally and cached.

The export is tuned for CPUs without VNNI (this project's 2-core AVX2 machine):

- onnxruntime's transformer optimizer fuses each layer's attention, GELU and layer norms first,
  then the weights are quantized to int8, giving QAttention and fused matmuls: about 1.4x the
  speed of the unfused int8 graph, and with one single-threaded session per core (OnnxEncoder)
  about 2x the speed of torch in fp32 on 2 cores.
- Weights are quantized per channel with a reduced range: full-range int8 on AVX2 saturates in
  `vpmaddubsw` and dropped the worst cosine to fp32 to 0.85 (reduced range: above 0.98).

Only the transformer is exported; mean pooling and normalisation run in numpy, so this covers
exactly the models whose sentence-transformers pipeline is Transformer → mean Pooling → Normalize.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from citeqa.core.errors import ModelError
from citeqa.core.priority import lower_this_thread, thread_nice
from citeqa.retrieval.tokenizer import Tokenizer

log = logging.getLogger(__name__)

_TRANSFORMER = "sentence_transformers.models.Transformer"
_POOLING = "sentence_transformers.models.Pooling"
_NORMALIZE = "sentence_transformers.models.Normalize"
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
# Encodes of at most this many texts (a question; the sentences of a few passages) do not wait for
# a large one (an ingest's batch): single-threaded, they take well under a second.
_SMALL = 32
_FORMAT = 2  # bump when the export or quantization recipe changes, so old caches are not reused


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
                    fused = _fuse(model_dir, fp32, Path(tmp) / "fused.onnx")
                    _quantize(fused, int8)
                finally:
                    root.setLevel(level)
        except Exception as exc:
            raise ModelError(f"cannot export embedding model {str(model_dir)!r} to ONNX: {exc}") from exc
        os.replace(int8, out)
    return out


def _export_fp32(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    try:
        # Spelled-out attention is what the optimizer recognises and fuses; SDPA exports opaquely.
        model = AutoModel.from_pretrained(str(model_dir), local_files_only=True, attn_implementation="eager").eval()
    except (TypeError, ValueError):
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


def _fuse(model_dir: Path, src: Path, dst: Path) -> Path:
    """`src` with attention, GELU and layer norms fused, or `src` itself for an architecture the
    optimizer does not know (it then runs unfused, just slower)."""
    from onnxruntime.transformers.optimizer import MODEL_TYPES, optimize_model

    config = json.loads((model_dir / "config.json").read_text())
    kind = config.get("model_type")
    if kind not in MODEL_TYPES:
        return src
    try:
        fused = optimize_model(
            str(src), model_type=kind, num_heads=int(config["num_attention_heads"]), hidden_size=int(config["hidden_size"])
        )
        fused.save_model_to_file(str(dst))
    except Exception:  # an optimizer gap costs speed, never the export
        log.debug("could not fuse %s; quantizing it unfused", model_dir, exc_info=True)
        return src
    return dst


def _quantize(src: Path, dst: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(dst),
        weight_type=QuantType.QInt8,
        per_channel=True,
        reduce_range=True,
        # Shape inference cannot type the outputs of fused (com.microsoft) operators.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )


class OnnxEncoder:
    """Sentence embeddings from the int8 ONNX model: tokenize, run, mean-pool, normalise.

    Texts run one at a time, spread over `threads` sessions of one thread each. Dynamic int8
    quantization scales activations per run, so in a batch a text's vector would depend on its
    neighbours (a question's relevance moved by up to 0.02 between `ask` and a batched `eval`);
    alone, with the same single-threaded kernels, a text always gets the same vector. Separate
    single-threaded sessions also beat one session's threads on these small matrices (38 against
    35 passages/s on 2 cores), and batches of 16 were slower still.
    """

    def __init__(self, onnx_path: Path, tokenizer: Tokenizer, max_tokens: int, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        # Every text has a new shape: the arena and memory patterns would keep the largest
        # buffers of each shape ever seen (over 1 GB after a few hundred passages).
        opts.enable_cpu_mem_arena = False
        opts.enable_mem_pattern = False
        count = max(1, threads or os.cpu_count() or 1)
        self._sessions = [ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"]) for _ in range(count)]
        self._inputs = [i.name for i in self._sessions[0].get_inputs()]
        self._count = count
        # Pool threads by the nice value of the thread that hands them a batch: an index change run
        # below a server's readers (citeqa.core.priority) embeds below them too, and a reader's own
        # large batch never lands on threads niced by an earlier ingest (a nice value only goes up).
        self._pools: dict[int, ThreadPoolExecutor] = {}
        self._busy = threading.Lock()  # one encode at a time owns all the sessions
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens

    def _pool(self, nice: int) -> ThreadPoolExecutor:
        """The pool whose threads run at `nice` (called with `_busy` held)."""
        if nice not in self._pools:
            self._pools[nice] = ThreadPoolExecutor(
                self._count, thread_name_prefix="citeqa-embed", initializer=lower_this_thread, initargs=(nice,)
            )
        return self._pools[nice]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        encoded = self.tokenizer.encode(texts, self.max_tokens)
        rows: list[np.ndarray | None] = [None] * len(encoded)
        n = len(self._sessions)

        def run(k: int, step: int) -> None:
            for i in range(k, len(encoded), step):
                feed = {name: getattr(encoded[i], name) for name in self._inputs}
                rows[i] = self._sessions[k].run(None, feed)[0][0].mean(axis=0)

        if len(encoded) <= _SMALL:
            # A question, or the sentences of a few passages: run at once in the caller's thread,
            # beside whatever holds the sessions (onnxruntime's run is thread-safe). Waiting for an
            # ingest's batch of a thousand chunks (`_busy`) made a search take 30 s.
            for i in range(len(encoded)):
                feed = {name: getattr(encoded[i], name) for name in self._inputs}
                rows[i] = self._sessions[i % n].run(None, feed)[0][0].mean(axis=0)
        else:
            with self._busy:
                if n == 1:
                    run(0, 1)
                else:
                    # onnxruntime releases the GIL while it runs, so the sessions compute in parallel.
                    pool = self._pool(thread_nice())
                    for fut in [pool.submit(run, k, n) for k in range(n)]:
                        fut.result()
        out = np.asarray(rows, dtype=np.float32)
        return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
