"""Text from page images: Tesseract, run offline on the CPU, with a box for every word.

Chosen by measurement on pages of ../shared/corpus/pdfs rendered to images (share of the text
layer's words recovered, seconds per page on this 2-core machine): Tesseract 5 from Debian's
packages recovered 98-99.8% of the words at 200 dpi in 2.4 s a page; RapidOCR (PP-OCRv4, its
models in the wheel) 79-90%, and it ran English words together ("connection andelement-wise
addition"), which defeats keyword search, in 11-25 s a page. 300 dpi gained under half a point
for 1.8x the time.

Tesseract is a program, not a Python package: `make install` installs Debian's tesseract-ocr
(scripts/install_ocr.sh). It is called directly rather than through pytesseract, which cannot
pass it an environment: one OpenMP thread per Tesseract is set there, not process-wide (torch
reads the same variable), because Tesseract's threads spin-wait, and on a busy 2-core machine two
threads took 9.3 s for a page that one thread read in 3.8 s.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from citeqa.core.errors import OcrError

if TYPE_CHECKING:
    from PIL.Image import Image

# pdfium is not thread-safe: every use in the process (ingest's renders, the web app's page view)
# takes this lock.
PDFIUM = threading.Lock()

DPI = 200
_TIMEOUT_S = 300  # one page; a huge poster page may take long, a hung process must not hang ingest
INSTALL_HINT = "apt-get install tesseract-ocr (or `make install`)"


@dataclass(frozen=True)
class Word:
    text: str
    box: tuple[int, int, int, int]  # left, top, right, bottom, in pixels of the image read


@dataclass(frozen=True)
class OcrPage:
    """The recognised text (lines joined by newlines, paragraphs by blank lines) and its words."""

    text: str
    words: tuple[Word, ...]


class Ocr:
    """Tesseract for `lang` (Tesseract's language codes, "eng", "deu+eng"). Picklable: parser
    processes get their own copy. Whether it can run is checked once, on first use."""

    def __init__(self, lang: str = "eng", *, binary: str | None = None) -> None:
        self.lang = lang
        self._binary = binary
        self._checked: str | None = None  # the problem found by the check, "" when none

    def __getstate__(self) -> dict:
        return {"lang": self.lang, "_binary": self._binary, "_checked": None}

    def problem(self) -> str:
        """Why OCR cannot run here ("" when it can), for a failure or warning line."""
        if self._checked is None:
            self._checked = self._check()
        return self._checked

    def _check(self) -> str:
        exe = self._binary or shutil.which("tesseract")
        if exe is None:
            return f"the OCR engine Tesseract is not installed: {INSTALL_HINT}"
        self._binary = exe
        try:
            out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"cannot run Tesseract ({exe}): {exc}"
        have = {line.strip() for line in out.stdout.splitlines()[1:]}
        missing = [code for code in self.lang.split("+") if code not in have]
        if missing:
            return (
                f"Tesseract has no language data for {'+'.join(missing)} (CITEQA_OCR_LANG); "
                f"install tesseract-ocr-{missing[0]}"
            )
        return ""

    def read(self, image: Image, *, dpi: int = DPI) -> OcrPage:
        """Recognise `image` (a page rendered at `dpi`)."""
        if problem := self.problem():
            raise OcrError(problem)
        buf = io.BytesIO()
        # Uncompressed PNM: Tesseract reads it as fast as raw pixels, and it is quicker to write than PNG.
        image.convert("L").save(buf, format="PPM")
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        cmd = [self._binary or "tesseract", "stdin", "stdout", "-l", self.lang, "--dpi", str(dpi), "tsv"]
        try:
            out = subprocess.run(cmd, input=buf.getvalue(), capture_output=True, env=env, timeout=_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise OcrError(f"Tesseract took over {_TIMEOUT_S} s on one page") from None
        except OSError as exc:
            raise OcrError(f"cannot run Tesseract: {exc}") from None
        if out.returncode != 0:
            msg = out.stderr.decode("utf-8", "replace").strip().splitlines()
            raise OcrError(f"Tesseract failed: {msg[-1] if msg else f'exit status {out.returncode}'}")
        return parse_tsv(out.stdout.decode("utf-8", "replace"))


def parse_tsv(tsv: str) -> OcrPage:
    """Tesseract's TSV output (one row per word, numbered by block, paragraph and line) → OcrPage."""
    words: list[Word] = []
    lines: list[str] = []
    current: list[str] = []
    para_key: tuple[str, str] | None = None
    line_key: tuple[str, str, str] | None = None
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        p_key = (row["block_num"], row["par_num"])
        l_key = (*p_key, row["line_num"])
        if l_key != line_key:
            if current:
                lines.append(" ".join(current))
            if para_key is not None and p_key != para_key:
                lines.append("")  # a blank line between paragraphs
            current, line_key, para_key = [], l_key, p_key
        current.append(text)
        left, top = int(row["left"]), int(row["top"])
        words.append(Word(text, (left, top, left + int(row["width"]), top + int(row["height"]))))
    if current:
        lines.append(" ".join(current))
    return OcrPage("\n".join(lines).strip(), tuple(words))
