"""Words broken across lines by hyphenation ("re-\\nsults"), joined again.

Two-column PDFs break words at almost every other line end: the six papers in the shared corpus
have 510 such breaks, 194 on the batch-normalization paper alone. Left as they are, a quote reads
"re- sults", keyword search misses "results", and the embedder sees two fragments. A text layer
does not tell hyphenation from a compound that happens to end a line ("batch-\\nnormalized";
pdfium marks both as soft hyphens), so the document itself decides: a break is joined when the
whole word occurs elsewhere in it ("results"), kept as a hyphen when the hyphenated form does
("mini-batch"), and otherwise joined if it continues in lower case, as hyphenation does. No
dehyphenation library was found that runs without a language model; this rule needs none.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from itertools import pairwise

# A break is a word, a hyphen at the end of its line, and the word's rest at the start of the next
# line: `((?:\w+-)*\w+)-[ \t]*\n[ \t]*(\w+)`, the head keeping any compound it ends
# ("state-of-the-\nart": a compound continues as one). That regex, run as it is, starts again at
# every letter of a long word or chain that no line break ends (a line of "a-a-a-..." took 8 s for
# 30 KB: quadratic), so `_breaks` finds the same matches in linear time: the hyphen, line break
# and tail forwards, then the head backwards from the hyphen, over the reversed text.
_BROKEN_END = re.compile(r"-[ \t]*\n[ \t]*(\w+)")
_HEAD_REVERSED = re.compile(r"\w+(?:-\w+)*")  # a chain reads the same pattern backwards
_WORD = re.compile(r"\w+")
# "end-to-end". Only at a word's start: a match never begins inside a word (it would have begun
# earlier), and trying each letter of a long word again made the search quadratic.
_CHAIN = re.compile(r"(?<!\w)\w+(?:-\w+)+")


def dehyphenate(texts: Iterable[str]) -> list[str]:
    """`texts` (the pages of one document) with their line-end hyphenation undone."""
    texts = list(texts)
    if not any("-" in t for t in texts):
        return texts
    words: set[str] = set()
    compounds: set[str] = set()
    for text in texts:
        unbroken = _substitute(text, lambda chain, tail: " ")  # the broken words themselves are no evidence
        words.update(w.lower() for w in _WORD.findall(unbroken))
        for chain in _CHAIN.findall(unbroken):
            parts = chain.lower().split("-")
            compounds.update(f"{a}-{b}" for a, b in pairwise(parts))

    def join(chain: str, tail: str) -> str:
        head = chain.rsplit("-", 1)[-1]
        if (head + tail).lower() in words:
            return chain + tail
        if f"{head}-{tail}".lower() in compounds:
            return f"{chain}-{tail}"
        if tail[0].islower() and head[-1].isalpha() and "-" not in chain:
            return chain + tail
        return f"{chain}-{tail}"  # "top-\n5", "GPT-\n3", "Fusion-\nIn-Decoder", "state-of-the-\nart"

    return [_substitute(t, join) for t in texts]


def _breaks(text: str) -> Iterator[tuple[int, int, str, str]]:
    """(start, end, head, tail) of each break in `text`, exactly as `re.finditer` would find them
    with the pattern above: leftmost first, none overlapping."""
    reversed_text = ""
    done = 0  # where the last break ended: the next one's head starts at or after it
    for m in _BROKEN_END.finditer(text):
        hyphen = m.start()
        if hyphen <= done:
            continue
        if not reversed_text:
            reversed_text = text[::-1]
        # The head runs back from just before the hyphen, as far as a chain of words goes.
        rev = len(text) - hyphen
        head = _HEAD_REVERSED.match(reversed_text, rev, len(text) - done)
        if head is None:
            continue
        start = hyphen - (head.end() - rev)
        yield start, m.end(), text[start:hyphen], m.group(1)
        done = m.end()


def _substitute(text: str, replace: Callable[[str, str], str]) -> str:
    """`text` with each break replaced by `replace(head, tail)`."""
    out: list[str] = []
    pos = 0
    for start, end, head, tail in _breaks(text):
        out.append(text[pos:start])
        out.append(replace(head, tail))
        pos = end
    if not out:
        return text
    out.append(text[pos:])
    return "".join(out)
