"""Document and model text → inert Markdown or HTML.

Passages come from the user's files and answers from a model that read them, so
both may carry Markdown or HTML (an image link would make the browser fetch a
URL). Everything shown goes through `escape_md` (for st.markdown and widget
labels) or `passage_html` (html-escaped, for st.html).
"""

from __future__ import annotations

import html
import re

# Inline Markdown, HTML, Streamlit directives (:red[...], :material/x:, emoji) and LaTeX ($).
_INLINE = re.compile(r"([\\`*_\[\]()<>!|~$:{}&])")
# Block syntax that only matters at the start of a line: headings, quotes, lists, rules.
_LINE_START = re.compile(r"^(\s*)(?:([#>+\-=])|(\d+)([.)]))")


def escape_md(text: str, *, single_line: bool = False) -> str:
    """Markdown that renders `text` literally. Line breaks are kept (as hard breaks)
    unless `single_line`, as for labels. Spaces are kept, except that indentation,
    which would make a code block, is dropped."""
    text = _INLINE.sub(r"\\\1", text.replace("\r\n", "\n").replace("\r", "\n"))
    if single_line:
        return " ".join(text.split())
    first, *rest = text.split("\n")
    if first[:1].isspace():  # this text may follow other text on its line: keep one space
        first = " " + first.lstrip()
    lines = [first, *(ln.lstrip() for ln in rest)]
    return "  \n".join(_LINE_START.sub(_escape_line_start, ln) for ln in lines)


def _escape_line_start(m: re.Match[str]) -> str:
    indent, mark, number, dot = m.groups()
    # A backslash escapes punctuation only: "1." becomes "1\.", not "\1.".
    return f"{indent}\\{mark}" if mark else f"{indent}{number}\\{dot}"


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Span of `quote` in `text`, ignoring case and differences in whitespace."""
    quote = quote.strip()
    if not quote:
        return None
    i = text.find(quote)
    if i >= 0:
        return i, i + len(quote)
    words = quote.split()
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(pattern, text, re.IGNORECASE)
    return (m.start(), m.end()) if m else None


def passage_html(text: str, quote: str = "") -> str:
    """The passage as escaped HTML, with the quoted evidence in <mark>."""
    span = find_quote(text, quote)
    if span is None:
        body = html.escape(text)
    else:
        a, b = span
        body = f"{html.escape(text[:a])}<mark>{html.escape(text[a:b])}</mark>{html.escape(text[b:])}"
    return f'<div class="citeqa-passage" style="white-space: pre-wrap; line-height: 1.5">{body}</div>'
