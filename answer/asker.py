"""The question's path, in one place: read the question (citeqa.answer.asked), search for it
(through a `Library`, which citeqa.retrieval.retriever.Retriever is), find where the index names
its subject and the symbols its documents define for the asked term, select and judge the
evidence (citeqa.answer.evidence), and hand it to the Answerer, which streams the answer.
The engine builds one Asker and calls it once per question.
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from citeqa.answer.answerer import Answerer, Clock
from citeqa.answer.asked import QUOTED, TOKEN, Asked, asked, asked_phrase, normalised
from citeqa.answer.byline import asks_authors, byline, of_a_document
from citeqa.answer.conversation import previous_question, search_queries
from citeqa.answer.evidence import (
    EMBEDDED_PASSAGES,
    EVIDENCE_POOL,
    SentenceVectors,
    select,
    shown_count,
    to_embed,
    with_evidence_passages,
)
from citeqa.answer.evidence_text import stems
from citeqa.answer.mentions import Name
from citeqa.answer.names import Names, found_in
from citeqa.answer.people import names_someone
from citeqa.answer.releases import (
    given_version,
    heading_above,
    in_given_release,
    lists_change,
    notes_of,
    release_heading,
)
from citeqa.answer.stated import symbol_stems
from citeqa.answer.symbols import definitions, lookup_words, symbols_for
from citeqa.answer.versions import asked_version
from citeqa.core.sentences import TABLE_ROW, sentence_spans
from citeqa.core.settings import RetrievalMode
from citeqa.core.tables import read_row
from citeqa.core.types import Evidence, History, Hit

if TYPE_CHECKING:
    from citeqa.answer.generator import Generator
    from citeqa.answer.model_gate import ModelGate
    from citeqa.answer.stream import AnswerStream
    from citeqa.core.types import Retrieved

class Library(Protocol):
    """What the question's path needs of the index (citeqa.retrieval.retriever.Retriever)."""

    def retrieve_fused(
        self,
        queries: Sequence[str],
        *,
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        sources: Sequence[str] = (),
        relevance_k: int | None = None,
        within: Sequence[str] = (),
        relevant_by: int = 1,
    ) -> Retrieved: ...

    def mentions(self, words: Sequence[str]) -> list[list[Hit]]: ...

    def opening(self, source: str) -> Hit | None: ...

    def passages(self, source: str) -> list[Hit]: ...

    def require_documents(self) -> None: ...

    def sentence_vectors(self, hits: Sequence[Hit], only: dict[str, list[tuple[int, int]]] | None = None) -> SentenceVectors: ...

    def is_relevant(self, retrieved: Retrieved) -> bool: ...


@dataclass(frozen=True)
class _Found:
    """A question as read, what it was searched for with, and what the search found."""

    what: Asked
    queries: list[str]
    names: Names
    within: tuple[str, ...]
    symbols: tuple[str, ...]
    retrieved: Retrieved
    relevant: bool


# A byline answers a question about authors outright, and a change listed under its release's
# heading a question about the release it came in: shown whatever the scores of the sentences
# that merely share the question's words.
BYLINE_SCORE = 2.0


class Asker:
    """`mentions_limit`: how many passages `Library.mentions` returns at most per word (below
    it, a name's list of mentions is complete)."""

    def __init__(self, library: Library, answerer: Answerer, *, top_k: int, mentions_limit: int) -> None:
        self.library = library
        self.answerer = answerer
        self.top_k = top_k
        self.mentions_limit = mentions_limit

    def ask(
        self,
        question: str,
        *,
        top_k: int | None = None,
        mode: RetrievalMode | None = None,
        sources: Sequence[str] = (),
        history: History = (),
        model: Callable[[], Generator] | None = None,
        turns: ModelGate | None = None,
        temperature: float | None = None,
    ) -> AnswerStream:
        """Retrieve and select evidence now; the returned stream yields the evidence answer at
        once, then (with a `model`) the generated sentences that pass the support check.
        `history` only changes what is searched for when the question cannot stand alone."""
        t0 = time.perf_counter()
        self.library.require_documents()  # NoDocuments: nothing indexed, nothing to look for
        k = top_k or self.top_k
        found = self._search(question, history, k, mode, sources)
        if not found.relevant and not found.what.followup and not found.what.names and previous_question(history):
            # "Which optimizer was used?" names nothing: asked in a conversation and finding
            # nothing on its own, it is about what was asked before it
            again = self._search(question, history, k, mode, sources, followup=True)
            found = again if again.relevant else found
        what, queries, names, within, symbols, retrieved = (
            found.what, found.queries, found.names, found.within, found.symbols, found.retrieved
        )  # fmt: skip
        standalone = queries[0] if found.what.followup else None  # what a follow-up was searched as
        missing = names.missing(what.names)
        retrieve_s = time.perf_counter() - t0
        relevant = found.relevant
        scored_as = f"{queries[0]} {' '.join(symbols)}" if symbols else queries[0]
        own = what.measured or what.question  # a follow-up's own question, or the question
        previous = what.question[: len(what.question) - len(what.measured)] if what.measured else ""
        authors = None if missing or not asks_authors(own, previous) else self.byline(what, names, within, retrieved)
        # a byline ("Who wrote the Adam paper?": its title page's), or a release's heading, is the
        # answer outright: nothing more is chosen
        outright = (authors,) if authors is not None else ()
        if not missing and not outright and (asked_version(what.measure) or what.kind == "date"):
            # "Which sed release introduced the --debug option?": the change's line, under its
            # release's heading, over any sentence that merely states a version
            outright = self.release_notes(what, names, retrieved)
        if outright:
            retrieved, relevant, evidence = _with_passages(retrieved, outright), True, outright
        elif missing:
            evidence = ()
        else:
            retrieved = self.rows_beside(what, retrieved, mode, sources)
            evidence = self.select_evidence(scored_as, retrieved, asked=what, names=names)
        if what.measured and not missing and not outright:
            # A follow-up that asks its own question ("How many passages does it use at test
            # time?" after "Which lab did the Fusion-in-Decoder authors work at?") is also scored
            # by its own words and the names it is about, not diluted by the question before it.
            own = " ".join([what.measured, *(n.text for n in what.names), *symbols])
            evidence = _best_of(evidence, self.select_evidence(own, retrieved, asked=what, names=names))
        evidence = in_given_release(what.measure, evidence, self.library.passages)  # not another release's lines
        hits, evidence = with_evidence_passages(retrieved.hits, k, evidence, shown_count(evidence, self.answerer.shown))
        return self.answerer.stream(
            question,
            hits,
            evidence,
            relevant=relevant,
            clock=Clock(t0, retrieve_s, time.perf_counter() - t0),
            model=model,
            turns=turns,
            temperature=temperature,
            standalone=standalone,
            abstain="subject_not_in_documents" if missing else None,
            missing=missing.text if missing else None,
        )

    def _search(
        self,
        question: str,
        history: History,
        k: int,
        mode: RetrievalMode | None,
        sources: Sequence[str],
        followup: bool | None = None,
    ) -> _Found:
        """Read the question and retrieve the passages its evidence is looked for in."""
        what = asked(question, history, followup=followup)
        queries = search_queries(question, history, followup=followup)
        if what.followup:  # "And for ResNet-152?" is searched for as the question it stands for
            queries[0] = what.question
            if what.previous_quotes:
                # and near what was just quoted: "And epsilon?" after beta1 is answered by the
                # passage that gave beta1, and "And when was that measured?" beside it
                queries.append(" ".join(sorted(what.previous_quotes))[:2000])
        names = self.names(what)
        within = names.documents(what.names)
        if what.followup and not what.names and what.previous_quotes:
            # "When was that release out?" after a quote from strace's NEWS names nothing of its
            # own: it is about what was quoted, and is answered in the documents quoted from
            within = self._quoted_from(what.previous_quotes, mode, sources)
        if within and what.kind in ("quantity", "date"):
            # Within the documents that name the subject, its names are in nearly every passage
            # and rank none above another: "What weight decay did the ImageNet ResNets use?" is
            # also searched for as "What weight decay did the use?" (the names still decide which
            # sentences are about the subject, `Names.about`). Only for a value: for other
            # questions the names are part of what is asked ("What early Huguenot church was
            # established in England?"; on SQuAD searching without them cost 0.006 of answers).
            unnamed = without_names(what.question, what.names)
            if unnamed and unnamed != what.question:
                queries.append(unnamed)
        symbols = self.symbols(what, within)
        if symbols:
            # "What default step size ...?" is answered by "α = 0.002" where "α: Stepsize": it is
            # searched for, judged (`answers`) and scored with the symbol as one of its words
            what = dataclasses.replace(what, focus=what.focus | symbol_stems(symbols))
            queries.append(f"{what.question} {' '.join(symbols)}")
        # Evidence is looked for in more passages than are shown (see EVIDENCE_POOL); relevance,
        # and so abstention, is judged on the question's own top k. A question about a named
        # subject is searched for in the documents that mention it ("What dropout rate did
        # Fusion-in-Decoder use?": the other papers' dropout rates would outrank its own).
        retrieved = self.library.retrieve_fused(
            queries, top_k=max(k, EVIDENCE_POOL), mode=mode, sources=sources, relevance_k=k, within=within,
            # a follow-up is relevant by its own words too: joined with the question before it,
            # it reads like neither ("... What test error does it get?")
            relevant_by=2 if what.followup else 1,
        )  # fmt: skip
        if names.missing(what.names):  # written otherwise in the passages found? ("Herve" for "Hervé")
            names = names.with_passages(what.names, retrieved.hits)
        return _Found(what, queries, names, within, symbols, retrieved, self.library.is_relevant(retrieved))

    def _quoted_passages(self, quotes: Iterable[str], mode: RetrievalMode | None, sources: Sequence[str]) -> list[Hit]:
        """The passages that hold one of `quotes` (normalised, `normalised`): those of a previous answer."""
        quotes = sorted(quotes)
        found = self.library.retrieve_fused(quotes, top_k=len(quotes) + 2, mode=mode, sources=sources)
        return [h for h in found.hits if any(q in normalised(h.text) for q in quotes)]

    def _quoted_from(self, quotes: frozenset[str], mode: RetrievalMode | None, sources: Sequence[str]) -> tuple[str, ...]:
        """The documents with a passage that holds one of `quotes`."""
        return tuple(sorted({h.source for h in self._quoted_passages(quotes, mode, sources)}))

    def select_evidence(
        self, question: str, retrieved: Retrieved, limit: int = 3, *, asked: Asked | None = None, names: Names | None = None
    ) -> tuple[Evidence, ...]:
        """The `limit` best evidence sentences of `retrieved` (citeqa.answer.evidence): every
        sentence of its first passages is embedded (relevance embedded most of them already), and
        of the deeper passages only the few sentences that share the most words with the question.
        With `asked`, only sentences that answer it (citeqa.answer.stated)."""
        assert retrieved.vector is not None
        deep = to_embed(question, retrieved.hits, asked=asked, names=names)
        hits = [h for i, h in enumerate(retrieved.hits) if i < EMBEDDED_PASSAGES or h.chunk_id in deep]
        vectors = self.library.sentence_vectors(hits, only=deep)
        return select(question, retrieved.vector, retrieved.hits, vectors, limit=limit, asked=asked, names=names)

    def rows_beside(self, what: Asked, retrieved: Retrieved, mode: RetrievalMode | None, sources: Sequence[str]) -> Retrieved:
        """For a follow-up after a table row ("And the ensemble?" after the row "BN-Inception
        multicrop: ... Top-1 error 21.99%"), `retrieved` with the rows of the same table whose label
        has a word the follow-up asks about ("BN-Inception ensemble: ..."), which its words alone
        rarely retrieve: a row passage holds little but the row."""
        rows = {q for q in what.previous_quotes if TABLE_ROW.fullmatch(q)}
        if not what.followup or not rows or not what.focus:
            return retrieved
        have = {h.chunk_id for h in retrieved.hits}
        extra: list[Hit] = []
        for hit in self._quoted_passages(rows, mode, sources):
            quoted = read_row(hit.text)
            if quoted is None or not quoted.caption or normalised(quoted.row) not in rows:
                continue
            for p in self.library.passages(hit.source):
                row = read_row(p.text)
                if row and row.caption == quoted.caption and TABLE_ROW.fullmatch(row.row) and p.chunk_id not in have and stems(row.label) & what.focus:
                    extra.append(p)
                    have.add(p.chunk_id)
        return dataclasses.replace(retrieved, hits=(*retrieved.hits, *extra)) if extra else retrieved

    def byline(self, what: Asked, names: Names, within: Sequence[str], retrieved: Retrieved) -> Evidence | None:
        """The byline of the document a question about authors asks of (citeqa.answer.byline) as
        evidence: the document whose title names its subject, else the one document that names
        it, else the best passage's."""
        subject = next((n for n in what.names if not n.context), None)
        titled = [src for src, at in names.found.get(subject.parts, {}).items() if any(i == 0 for i, _ in at)] if subject else []
        if not titled and not of_a_document(what.question):
            return None  # "Who wrote the Edict of Nantes?" asks of a work, not of a document here
        source = (titled or list(within[:1]) or [h.source for h in retrieved.hits[:1]] or [None])[0]
        opening = self.library.opening(source) if source else None
        span = byline(opening.text) if opening is not None else None
        if opening is None or span is None or not names_someone(what.question, opening.text[span[0] : span[1]]):
            return None  # (a manual's title and "Table of Contents" are no byline: they name no one)
        return _outright(retrieved, opening, span)

    def release_notes(self, what: Asked, names: Names, retrieved: Retrieved) -> tuple[Evidence, ...]:
        """For a question that asks which release or version, or when: the first line of the top passages
        that lists a change with the question's key terms, and the heading of the release it is
        listed under (citeqa.answer.releases), which may be a passage or two before it."""
        date = what.kind == "date" and not asked_version(what.measure)
        documents: dict[str, list[Hit]] = {}  # a document's passages, read once

        def passages(source: str) -> list[Hit]:
            if source not in documents:
                documents[source] = self.library.passages(source)
            return documents[source]

        if date and (first := QUOTED.search(what.previous_answer)):
            # "When was that release out?" after "Added -e trace=%clock option ...": the heading
            # above the change the previous answer quoted first
            line = normalised(first.group(1))
            for hit in retrieved.hits:
                start = next((s for s, e in sentence_spans(hit.text) if normalised(hit.text[s:e]) == line), None)
                if start is None:
                    continue
                found = heading_above(what.measure, passages(hit.source), hit, start, date=True)
                if found is not None and (heading := in_given_release(what.measure, (_outright(retrieved, *found),), passages)):
                    return heading  # (not when a version is asked of another release's: "What about 1.1.0?")
                break
        for source in dict.fromkeys(h.source for h in retrieved.hits[:EMBEDDED_PASSAGES]) if date and given_version(what.measure) else ():
            # "When did strace 5.10 come out?": that release's own heading, in the release notes
            # the top passages are from, wherever its passage ranks (or were it not retrieved)
            if not notes_of(what.measure, passages(source)):
                continue
            for passage in passages(source):
                if (span := release_heading(what.measure, passage.text)) is not None:
                    return (_outright(retrieved, passage, span),)
        for hit in retrieved.hits[:EMBEDDED_PASSAGES]:
            for start, end in sentence_spans(hit.text):
                line = hit.text[start:end]
                if not lists_change(what.measure, line, date=date) or not names.about(what.names, hit, line):
                    continue
                found = heading_above(what.measure, passages(hit.source), hit, start, date=date)
                if found is not None:
                    return _outright(retrieved, *found), _outright(retrieved, hit, (start, end))
        return ()

    def names(self, what: Asked) -> Names:
        """Where the index mentions each name `what` asks about (citeqa.answer.names)."""
        keys = list(dict.fromkeys(key for n in what.names for key in n.keys))
        if not keys:
            return Names()
        by_key = dict(zip(keys, self.library.mentions(keys), strict=True))
        found = {n.parts: found_in(n, [h for key in n.keys for h in by_key[key]]) for n in what.names}
        return Names(found, complete=all(len(hits) < self.mentions_limit for hits in by_key.values()))

    def symbols(self, what: Asked, documents: Sequence[str]) -> tuple[str, ...]:
        """The symbols `documents` (empty: all) define as what a quantity question asks the
        value of (citeqa.answer.symbols), found through the passages that have the term's words."""
        phrase = asked_phrase(what.measure) if what.kind == "quantity" else ""
        words = lookup_words(phrase)
        if not words:
            return ()
        inside = set(documents)
        texts = {h.text: None for hits in self.library.mentions(words) for h in hits if not inside or h.source in inside}
        return symbols_for(phrase, definitions(texts))


def _best_of(*selections: Sequence[Evidence], limit: int = 3) -> tuple[Evidence, ...]:
    """The best `limit` evidence sentences of several selections over the same passages, each
    sentence once at its best score."""
    best: dict[tuple[str, int], Evidence] = {}
    for ev in (e for chosen in selections for e in chosen):
        key = (ev.hit.chunk_id, ev.start)
        if key not in best or ev.score > best[key].score:
            best[key] = ev
    return tuple(sorted(best.values(), key=lambda e: -e.score)[:limit])


def _numbered(retrieved: Retrieved, hit: Hit) -> tuple[int, Hit]:
    """The number [n] of passage `hit` among those retrieved (as retrieved), or the next number when
    it was not retrieved (a byline's opening passage, a release's heading a passage or more above)."""
    n = next((i for i, h in enumerate(retrieved.hits, 1) if h.chunk_id == hit.chunk_id), len(retrieved.hits) + 1)
    return n, retrieved.hits[n - 1] if n <= len(retrieved.hits) else hit


def _outright(retrieved: Retrieved, hit: Hit, span: tuple[int, int]) -> Evidence:
    """The sentence at `span` of passage `hit` as evidence shown outright (a byline, a release's
    heading or the change listed under it), numbered among the passages retrieved (`_numbered`)."""
    n, hit = _numbered(retrieved, hit)
    return Evidence(n=n, hit=hit, start=span[0], end=span[1], quote=hit.text[span[0] : span[1]], score=BYLINE_SCORE)


def _with_passages(retrieved: Retrieved, evidence: Sequence[Evidence]) -> Retrieved:
    """`retrieved` with the passages of `evidence` that were not retrieved, numbered after them."""
    extra = {ev.n: ev.hit for ev in evidence if ev.n > len(retrieved.hits)}
    return dataclasses.replace(retrieved, hits=(*retrieved.hits, *(extra[n] for n in sorted(extra)))) if extra else retrieved


def without_names(question: str, asked_names: tuple[Name, ...]) -> str:
    """`question` with the names it asks about taken out ("What weight decay did the ImageNet
    ResNets use?": "What weight decay did the use?"), to search by what it asks of them."""
    out = question
    for n in asked_names:
        out = re.sub(re.escape(n.text) + r"(?:['’]s)?", " ", out, flags=re.IGNORECASE)
    out = " ".join(out.split())
    return out if TOKEN.search(out) else ""
