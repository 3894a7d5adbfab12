"""What the fuzzer feeds the targets: hypothesis strings built from the tokens the code under test
treats specially (or from any characters), grown by repetition to a short and a K times longer input.
"""

from __future__ import annotations

import math

from hypothesis import strategies as st

K = 8  # the longer input is K times the shorter: a linear target's time grows K-fold, a quadratic's K²

# Tokens each target treats specially; hypothesis strings are runs of them, or any characters.
TOKENS = [
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r\n",
    "\f",
    "-",
    "-\n",
    "‐",
    "­",
    ".",
    ". ",
    "...",
    "e.g.",
    "Mr.",
    "U.S.",
    "Fig.",
    "?",
    "!",
    "(",
    ")",
    "[",
    "]",
    "[1]",
    "{",
    "}",
    '"',
    "'",
    "*",
    "**",
    "?*",
    "/",
    "\\",
    "%",
    "_",
    ",",
    ";",
    ":",
    "a",
    "a-",
    "word",
    "Word",
    "K2",
    "1999",
    "3.5",
    "12%",
    "What",
    "When",
    "Who",
    "How many",
    "is",
    "the",
    "of",
    "on",
    "Osprey",
    "O3",
    "Table 2:",
    "|",
    "#",
    "- ",
    "• ",
    "<p>",
    "</p>",
    "<div>",
    "</div>",
    "<b>",
    "<table><tr><td>",
    "</td></tr></table>",
    "<h1>",
    "</h1>",
    "&amp;",
    "<!--",
    "-->",
    "<br>",
    "é",
    "ﬁ",
    "\u00a0",
    "\ue000",
    "\x00",
]
TEXT = st.one_of(
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=12).map("".join),
    st.text(min_size=1, max_size=24),
)


def repeated(s: str, chars: int) -> tuple[str, str]:
    """`s` repeated to about `chars` characters, and K times that many repetitions."""
    n = max(1, math.ceil(chars / len(s)))
    return s * n, s * (n * K)


def xml_safe(s: str) -> str:
    """What python-docx, python-pptx and lxml accept in text (no control characters but tab and
    line break, no lone surrogates)."""
    return "".join(
        ch
        for ch in s
        if ch in "\t\n" or (ch >= " " and not 0xD800 <= ord(ch) <= 0xDFFF and ch not in "\ufffe\uffff")
    )
