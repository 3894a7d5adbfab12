"""Reading back what the web app wrote as Markdown, for the app's tests."""

from __future__ import annotations

import re


def unescape_md(text: str) -> str:
    """Inverse of `citeqa.app.safe_text.escape_md` up to whitespace: the text as the user reads it."""
    return re.sub(r"\\(.)", r"\1", text.replace("  \n", "\n"))
