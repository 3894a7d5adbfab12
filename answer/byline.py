"""Who wrote a document: its byline, the lines between its title and its abstract ("Sergey Ioffe /
Google Inc., sioffe@google.com / Christian Szegedy / ..."). A question about a paper's authors or
where they work is answered by that block, quoted as it stands on page 1; no sentence of the text
says it, so evidence selection alone cannot find it. Pure functions over text, linear patterns.
"""

from __future__ import annotations

import re

# "Who wrote ...", "Who are the authors of ...", "List the authors of ...".
_ASKS_AUTHORS = re.compile(
    # (not "Who do the Adam authors credit with ...?": the authors there do something, they are not asked)
    r"^\s*(?:and\s+)?who\b.{0,80}\b(?:wrote|write|authored|authors?(?=\s+of\b|\s*[?.]|\s*$))\b|\b(?:written|authored)\s+by\b|\bauthors?\s+of\b"
    r"|\b(?:name|names|list)\s+(?:of\s+)?the\s+authors?\b",
    re.IGNORECASE,
)
_AUTHOR = re.compile(r"\bauthors?\b", re.IGNORECASE)
# Where the byline ends: the abstract, or the first section.
_BYLINE_END = re.compile(r"^\s*(?:abstract|a\s?b\s?s\s?t\s?r\s?a\s?c\s?t|1\.?\s+introduction|introduction)\b", re.IGNORECASE | re.MULTILINE)
# Lines before the title that are not part of it: an arXiv stamp, a venue ("Published as a
# conference paper at ICLR 2015"), a running header.
_STAMP = re.compile(r"^\s*(?:arxiv:|published\s+as|accepted\s+|proceedings\s+of|preprint|under\s+review)", re.IGNORECASE)
MAX_BYLINE = 600  # characters quoted at most: a long author list is cut at a line's end


# Where authors work: asked after a question about them ("Which company were they at?").
_AFFILIATION = re.compile(
    r"\b(?:compan(?:y|ies)|universit(?:y|ies)|labs?|laborator(?:y|ies)|institut\w*|affiliat\w*|organi[sz]ations?|employer)\b",
    re.IGNORECASE,
)


_OF_A_DOCUMENT = re.compile(r"\b(?:authors?|paper|article|document|report|study|book|thesis)\b", re.IGNORECASE)


def of_a_document(question: str) -> bool:
    """Whether `question` speaks of a document or its authors ("Who wrote the Adam paper?"), not
    of any work ("Who wrote the Edict of Nantes?")."""
    return _OF_A_DOCUMENT.search(question) is not None


def asks_authors(question: str, previous: str = "") -> bool:
    """Whether `question` asks who wrote a document or where they work; `previous`: the question
    it follows, when it is a follow-up ("Which company were they at?" after "Who wrote ...?")."""
    if _ASKS_AUTHORS.search(question) or (_AFFILIATION.search(question) and _AUTHOR.search(question)):
        return True  # "Which lab did the Fusion-in-Decoder authors work at?"; not "... the ResNet authors use"
    return bool(previous) and asks_authors(previous) and _AFFILIATION.search(question) is not None


def byline(opening: str) -> tuple[int, int] | None:
    """The span of `opening` (a document's first passage) from its title to the line before its
    abstract: title, authors and affiliations. None without an abstract or section heading to end
    it (then the passage is no paper's title page)."""
    end = _BYLINE_END.search(opening)
    if end is None or end.start() == 0:
        return None
    start = 0
    for line in re.finditer(r"[^\n]*\n?", opening[: end.start()]):
        if line.group().strip() and not _STAMP.match(line.group()):
            start = line.start()
            break
    stop = end.start()
    if stop - start > MAX_BYLINE:
        cut = opening.rfind("\n", start, start + MAX_BYLINE)
        stop = cut if cut > start else start + MAX_BYLINE
    while stop > start and opening[stop - 1].isspace():
        stop -= 1
    return (start, stop) if stop > start else None
