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
from collections.abc import Iterable
from itertools import pairwise

# A word, a hyphen at the end of its line, and the word's rest at the start of the next line.
# The head keeps any compound it ends ("state-of-the-\nart"): a compound continues as one.
_BREAK = re.compile(r"((?:\w+-)*\w+)-[ \t]*\n[ \t]*(\w+)")
_WORD = re.compile(r"\w+")
_CHAIN = re.compile(r"\w+(?:-\w+)+")  # "end-to-end"


def dehyphenate(texts: Iterable[str]) -> list[str]:
    """`texts` (the pages of one document) with their line-end hyphenation undone."""
    texts = list(texts)
    if not any("-" in t for t in texts):
        return texts
    words: set[str] = set()
    compounds: set[str] = set()
    for text in texts:
        unbroken = _BREAK.sub(" ", text)  # the broken words themselves are no evidence
        words.update(w.lower() for w in _WORD.findall(unbroken))
        for chain in _CHAIN.findall(unbroken):
            parts = chain.lower().split("-")
            compounds.update(f"{a}-{b}" for a, b in pairwise(parts))

    def join(m: re.Match[str]) -> str:
        chain, tail = m.group(1), m.group(2)
        head = chain.rsplit("-", 1)[-1]
        if (head + tail).lower() in words:
            return chain + tail
        if f"{head}-{tail}".lower() in compounds:
            return f"{chain}-{tail}"
        if tail[0].islower() and head[-1].isalpha() and "-" not in chain:
            return chain + tail
        return f"{chain}-{tail}"  # "top-\n5", "GPT-\n3", "Fusion-\nIn-Decoder", "state-of-the-\nart"

    return [_BREAK.sub(join, t) for t in texts]
