"""The embedding model's word-piece tokenizer, without transformers.

Chunking and the int8 encoder only need token counts, offsets and ids. Reading the model
folder's `tokenizer.json` with the `tokenizers` library gives exactly what transformers' fast
tokenizer computes (it wraps the same object) and loads in milliseconds, where importing
transformers' AutoTokenizer pulls in torch: about 4 s on every ingest that has work to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.core.errors import ModelError


@dataclass(frozen=True)
class Encoded:
    """Model inputs for one text, special tokens included."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray


class Tokenizer:
    def __init__(self, backend: Any) -> None:
        from tokenizers import Tokenizer as Backend

        # A model's tokenizer.json may carry its own truncation and padding (all-MiniLM-L6-v2's
        # pads and cuts everything to 128): chunk sizes must be counted on the bare text.
        self._plain: Backend = Backend.from_str(backend.to_str())
        self._plain.no_truncation()
        self._plain.no_padding()
        self._cut: Backend = Backend.from_str(self._plain.to_str())
        self.num_special = len(self._plain.encode("a").ids) - len(self._plain.encode("a", add_special_tokens=False).ids)

    def count(self, text: str, *, special: bool = True) -> int:
        return len(self._plain.encode(text, add_special_tokens=special).ids)

    def offsets(self, text: str) -> list[tuple[int, int]]:
        """Character span of each word piece in `text`, special tokens left out."""
        return list(self._plain.encode(text, add_special_tokens=False).offsets)

    def encode(self, texts: Sequence[str], max_length: int) -> list[Encoded]:
        """Model inputs, each cut to `max_length` tokens the way transformers cuts them
        (the first max_length - 2 pieces between [CLS] and [SEP])."""
        cut = self._truncating(max_length)
        out = []
        for e in cut.encode_batch(list(texts)):
            out.append(
                Encoded(
                    np.asarray([e.ids], dtype=np.int64),
                    np.asarray([e.attention_mask], dtype=np.int64),
                    np.asarray([e.type_ids], dtype=np.int64),
                )
            )
        return out

    def _truncating(self, max_length: int) -> Any:
        trunc = self._cut.truncation
        if trunc is None or trunc["max_length"] != max_length:
            # Only ever set to the encoder's one window, so concurrent callers agree on it.
            self._cut.enable_truncation(max_length)
        return self._cut


def load(model: str) -> Tokenizer:
    """The tokenizer of a sentence-transformers model folder, or of a hub name already in the local cache."""
    try:
        path = Path(model) / "tokenizer.json"
        if path.is_file():
            from tokenizers import Tokenizer as Backend

            return Tokenizer(Backend.from_file(str(path)))
        from transformers import AutoTokenizer

        # Never download: a hub name works only when it is already in the local cache.
        hf = AutoTokenizer.from_pretrained(model, local_files_only=True)
        if not getattr(hf, "is_fast", False):
            raise ValueError("it has no fast (tokenizers) tokenizer")
        return Tokenizer(hf.backend_tokenizer)
    except Exception as exc:
        raise ModelError(f"cannot load the tokenizer of embedding model {model!r}: {exc}") from exc
