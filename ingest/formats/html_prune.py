"""A parsed page made safe for trafilatura in linear time: the same text, fewer tails to move.

trafilatura (and lxml.html's `drop_tree`, which it calls) delete an element by appending its tail
text to the tail of the sibling before it. A run of n deleted siblings therefore copies a string
that grows by each tail: O(n²). A page of 32,000 empty `<p>` took 26 s, and 64,000 `<aside>`,
`<script>` or empty `<span>`, each followed by a line break, took 6-9 s (`bench/README.md`, #22).

Two passes over the tree, each linear, take that work away before trafilatura sees the page:
- `prune_empty` deletes the empty elements trafilatura's `prune_html` would (same tags, same test:
  no text, no children), gathering the tails of a run and writing them once;
- `drop_blank_tails` drops whitespace-only tails that a browser would not render anyway: after a
  block (the next block starts a new line), or after an element that renders nothing when the text
  before it already ends in a blank. With those gone trafilatura's deletions have nothing to append.
Text inside `<pre>` and `<textarea>` keeps every blank.

What is left superlinear: a long run of deleted elements each followed by words ("<aside>x</aside>w"
repeated), whose tails must be kept. It is bounded by the parse watchdog (`CITEQA_PARSE_TIMEOUT`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml.etree import _Element


# Blocks whose blank tail a browser never renders (the next block starts a new line). Not <p>: with
# its blank tails gone trafilatura read a Rust docs page differently (text lost); not <br>, whose
# tail becomes the text of the line it starts. Measured on 1,000 pages of HTML documentation: the
# same text from all of them with these tails dropped.
_BLOCKS = frozenset(
    {
        *("address", "article", "aside", "blockquote", "dd", "details", "dialog", "div", "dl", "dt"),
        *("fieldset", "figcaption", "figure", "footer", "form", "header", "hgroup", "hr", "li", "main"),
        *("nav", "ol", "pre", "section", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul"),
        *("h1", "h2", "h3", "h4", "h5", "h6"),
    }
)
_KEEP_BLANKS = ("pre", "textarea")


@functools.cache
def _trafilatura_lists() -> tuple[frozenset[str], frozenset[str]]:
    """trafilatura's own lists, read from it so the two agree: the empty elements it prunes, and
    the elements it always deletes with their content. Imported when a page is read (trafilatura
    takes 90 ms to import: every command would pay it)."""
    from trafilatura.settings import CUT_EMPTY_ELEMS, MANUALLY_CLEANED

    return frozenset(CUT_EMPTY_ELEMS), frozenset(MANUALLY_CLEANED) | {"template"}


def prune(root: _Element) -> _Element:
    prune_empty(root)
    drop_blank_tails(root)
    return root


def _empty(el: _Element, cut: frozenset[str]) -> bool:
    return el.tag in cut and el.text is None and len(el) == 0


def prune_empty(root: _Element) -> None:
    """Delete the empty elements `prune_html` would delete, keeping their tails in place."""
    cut = _trafilatura_lists()[0]
    for parent in list(root.iter()):
        kids = list(parent)
        if not any(_empty(k, cut) for k in kids):
            continue
        target: _Element | None = None  # None: the parent's text
        pieces: list[str] = [parent.text or ""]
        for kid in kids:
            if _empty(kid, cut):
                if kid.tail:
                    pieces.append(kid.tail)
                kid.tail = None
                parent.remove(kid)
                continue
            _write(parent, target, pieces)
            target, pieces = kid, [kid.tail or ""]
        _write(parent, target, pieces)


def _write(parent: _Element, target: _Element | None, pieces: list[str]) -> None:
    if len(pieces) == 1:
        return  # nothing was moved here
    text = "".join(pieces) or None
    if target is None:
        parent.text = text
    else:
        target.tail = text


def drop_blank_tails(root: _Element) -> None:
    """Drop the whitespace-only tails that cannot change the page's rendered text: a block's, and
    that of an element trafilatura deletes when the text before it already ends in a blank."""
    deleted_tags = _trafilatura_lists()[1]
    keep: set[_Element] = set()
    for pre in root.iter(*_KEEP_BLANKS):
        keep.update(pre.iter())
    for parent in root.iter():
        if parent in keep:
            continue
        # A parent's start may follow inline text outside it: only its own blank counts.
        blank_before = bool(parent.text) and parent.text[-1].isspace()
        for kid in parent:
            block = kid.tag in _BLOCKS
            deleted = not isinstance(kid.tag, str) or kid.tag in deleted_tags  # comments included
            tail = kid.tail
            if tail is not None and not tail.strip():
                if block or (deleted and blank_before):
                    kid.tail = None
                blank_before = True
            elif tail:
                blank_before = tail[-1].isspace()
            elif not deleted and (kid.text is not None or len(kid)):
                blank_before = block  # what the element holds ends the text before the next
