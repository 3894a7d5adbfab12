"""How documents and scores are named on screen: a document by its path inside the folder it was
ingested from (an upload by its file name), never by the server's whole path; a score with what it
means.

The engine stores absolute paths. A remote user (see auth.py) has no business learning the
server's folder layout, and a local one reads "papers/2023/attention.pdf" more easily than the
whole path, so names are derived here, at the edge, from the recorded ingest roots.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath

from citeqa.answer.answerer import Policy
from citeqa.answer.evidence import Scorer
from citeqa.core.settings import RetrievalMode
from citeqa.core.types import Evidence, Hit, where
from citeqa.ingest.formats.base import ReadLimits
from citeqa.retrieval.fusion import Fusion


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _base(path: str, roots: Sequence[str], uploads: str | None) -> str:
    """The folder `path` is named from: the uploads folder, else the nearest root holding it (a file
    root: the folder it is in), else the folder it is in."""
    if uploads is not None and _under(path, uploads):
        return uploads
    holding = [r for r in roots if _under(path, r)]
    if not holding:
        return os.path.dirname(path)
    nearest = max(holding, key=len)
    return os.path.dirname(nearest) if nearest == path else nearest


def display_names(
    paths: Iterable[str], roots: Iterable[str] = (), uploads: str | os.PathLike | None = None
) -> dict[str, str]:
    """Each path → how it is shown: relative to the folder it was ingested from (`roots`: files and
    folders given to ingest) or to the uploads folder. Where two documents would get the same name,
    each gets as many of its folders as tell them apart."""
    norm_roots = [os.path.normpath(r) for r in roots]
    folder = os.path.normpath(uploads) if uploads is not None else None
    base: dict[str, str] = {}
    for p in dict.fromkeys(paths):
        base[p] = _base(os.path.normpath(p), norm_roots, folder)
    names = {p: os.path.relpath(os.path.normpath(p), b) if b else PurePath(p).name for p, b in base.items()}
    while True:
        seen: dict[str, list[str]] = {}
        for p, n in names.items():
            seen.setdefault(n, []).append(p)
        clashes = [ps for ps in seen.values() if len(ps) > 1]
        grown = False
        for ps in clashes:
            for p in ps:
                b = base[p]
                if os.path.dirname(b) != b:  # not at the top yet: one folder more
                    base[p] = os.path.dirname(b)
                    names[p] = os.path.relpath(os.path.normpath(p), base[p])
                    grown = True
        if not grown:
            return names


@dataclass(frozen=True)
class Display:
    """Names for the documents of one page render, and how scores are explained."""

    names: Mapping[str, str] = field(default_factory=dict)
    reranked: bool = False  # a cross-encoder (CITEQA_RERANKER) scores the passages
    # The largest page image the page view renders (CITEQA_MAX_PAGE_PIXELS).
    page_pixels: int = field(default_factory=lambda: ReadLimits().page_pixels)

    def path(self, source: str) -> str:
        """`source` as shown; a path not in the index (deleted meanwhile) by its file name."""
        return self.names.get(source) or PurePath(source).name

    def label(self, hit: Hit) -> str:
        """"papers/report.pdf, p. 7": the place a passage comes from, as shown."""
        return where(self.path(hit.source), hit.page, hit.location, full_path=True)

    def evidence_label(self, e: Evidence) -> str:
        return self.label(e.hit)

    def score_help(self, mode: RetrievalMode = "hybrid") -> str:
        return score_help("passage", mode, reranked=self.reranked)


def score_text(score: float) -> str:
    return f"score {score:.3g}"


def score_help(kind: str = "passage", mode: RetrievalMode = "hybrid", *, reranked: bool = False) -> str:
    """What a score shown on screen means: the one place it is said, for the chat, the sources, the
    library and the transcript alike. `kind` is "passage" (a retrieved passage's score under
    retrieval `mode`) or "evidence" (a quoted sentence's score)."""
    tail = "Higher is better; it compares passages for the same question and is not a probability."
    if kind == "evidence":
        s, weak = Scorer(), Policy().weak_evidence
        return (
            "How well this sentence answers the question: cosine similarity of the question and the sentence "
            f"(−1 to 1) + {s.lexical:g} × the share of the question's words the sentence contains (rarer words "
            f"count more, file-name words less) + {s.neighbour:g} × the share only a sentence beside it holds "
            f"+ {s.number:g} when the question asks for a number or a time and the sentence states one "
            f"− {s.label:g} for a heading or caption − {s.rank:g} for each place its passage is ranked below "
            f"the first. Quotes under {weak:g} are not shown as an answer on their own. "
            "Higher is better; it is not a probability."
        )
    if reranked:
        return (
            "Relevance of the passage to the question, as the reranker (CITEQA_RERANKER, a cross-encoder that "
            f"reads both together) scores it; its scale depends on the reranker. {tail}"
        )
    if mode == "dense":
        return f"Relevance of the passage to the question: cosine similarity of their meanings (embeddings), −1 to 1. {tail}"
    if mode == "bm25":
        return (
            "Relevance of the passage to the question: BM25 keyword score, from 0 up: how often the question's "
            f"words occur in the passage, rarer words counting more. {tail}"
        )
    return (
        "Relevance of the passage to the question: hybrid score = cosine similarity of their meanings "
        f"(−1 to 1) + {Fusion().bm25:g} × BM25 keyword score (0 and up; how often the question's words "
        f"occur in the passage, rarer words counting more). {tail}"
    )
