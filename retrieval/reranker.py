"""Optional second-stage ranking with a sentence-transformers CrossEncoder.

Off unless CITEQA_RERANKER names one. A cross-encoder reads query and passage together, so it
judges relevance better than comparing two independent embeddings, at the cost of one model pass
per candidate; it therefore reorders only the first `candidates` hits of the first stage.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from citeqa.core.errors import ConfigError
from citeqa.core.settings import Settings
from citeqa.core.types import Hit

log = logging.getLogger(__name__)


class Reranker:
    def __init__(self, model: str, *, candidates: int = 30, batch_size: int = 32) -> None:
        try:
            from sentence_transformers import CrossEncoder

            # local_files_only: a reranker named but not on this machine must fail here, not download.
            self._model = CrossEncoder(model, device="cpu", local_files_only=True)
        except Exception as exc:
            raise ConfigError(
                f"cannot load reranker {model!r} (CITEQA_RERANKER): {str(exc).splitlines()[0] if str(exc) else exc!r}. "
                "Set it to a local sentence-transformers CrossEncoder folder or a model already in the "
                "Hugging Face cache (citeqa never downloads), or leave it empty to rerank nothing"
            ) from exc
        self.name = model
        self.candidates = candidates
        self.batch_size = batch_size

    @classmethod
    def from_settings(cls, settings: Settings) -> Reranker | None:
        return cls(settings.reranker) if settings.reranker else None

    def rerank_many(self, queries: Sequence[str], hit_lists: Sequence[Sequence[Hit]]) -> list[list[Hit]]:
        """Each list's first `candidates` hits in the cross-encoder's order (its score replaces
        `Hit.score`), followed by the rest as they were. All pairs go through the model in one
        batch, so many queries cost little more than one."""
        pairs = [
            (q, h.text) for q, hits in zip(queries, hit_lists, strict=True) for h in hits[: self.candidates]
        ]
        if not pairs:
            return [list(hits) for hits in hit_lists]
        scores = self._model.predict(
            pairs, batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True
        )
        out: list[list[Hit]] = []
        i = 0
        for hits in hit_lists:
            head = hits[: self.candidates]
            scored = [
                replace(h, score=float(s)) for h, s in zip(head, scores[i : i + len(head)], strict=True)
            ]
            i += len(head)
            # sorted() is stable: ties keep the first stage's order.
            out.append(sorted(scored, key=lambda h: -h.score) + list(hits[self.candidates :]))
        return out
