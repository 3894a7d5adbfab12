"""The source filter: `--source 'reports/*.pdf'` globs, as a Milvus filter and as an exact check."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

_LIKE_SPECIAL = re.compile(r'[\\%_"]')


def glob_to_filter(patterns: Sequence[str]) -> str:
    """Milvus filter for sources matching any of the globs (`*`, `?`).

    A relative pattern matches at any depth ("reports/*.pdf" finds /home/me/reports/q1.pdf),
    as users type what they see in citations.

    Characters that LIKE would need escaped (`%`, `_`, `\\`, and `"`) become `_`, LIKE's
    any-one-character, instead: milvus-lite's BM25 search finds nothing on not-yet-sealed segments
    when a LIKE pattern holds an escape (dense search and queries are fine), and file names are
    full of `_`. The filter can therefore match a little more than the glob; `glob_matcher`
    removes those rare extra sources from the results.
    """
    clauses = []
    for pat in patterns:
        like = _LIKE_SPECIAL.sub("_", pat).replace("*", "%").replace("?", "_")
        if not pat.startswith("/"):
            like = "%" + like
        clauses.append(f'source like "{like}"')
    return " or ".join(clauses)


def glob_matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
    """Exactly what `glob_to_filter` means, for checking a source path in Python."""
    regexes = []
    for pat in patterns:
        rx = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pat)
        regexes.append(re.compile(rx if pat.startswith("/") else ".*" + rx, re.DOTALL))
    return lambda source: any(r.fullmatch(source) for r in regexes)
