"""Table cells in prose: how many sentences of the corpus PDFs' page text are runs of bare numbers
(four or more numbers in a row, what a flattened table row reads as), with table detection off
(every table's cells left in the page's text, as before issue #23) and on (the cells taken out
into row passages). A table's own row passages are not prose and are not counted.

    python bench/number_runs.py [--corpus ../shared/corpus/pdfs]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from citeqa.answer.evidence_text import _NUMBER_RUN
from citeqa.core.sentences import sentence_spans
from citeqa.ingest.formats import pdf
from citeqa.ingest.formats.base import Options

REPO = Path(__file__).resolve().parents[1]


def number_runs(path: Path, *, tables: bool) -> tuple[int, int]:
    """(sentences, sentences that are runs of bare numbers) of the file's page text."""
    loaded = pdf.load(path, Options() if tables else Options(stalled=frozenset({"tables"})))
    sentences = runs = 0
    for page in loaded.pages:
        for s, e in sentence_spans(page.text):
            sentences += 1
            runs += bool(_NUMBER_RUN.search(page.text[s:e] + " "))
    return sentences, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus" / "pdfs")
    args = parser.parse_args()
    files = sorted(args.corpus.glob("*.pdf"))
    if not files:
        sys.exit(f"no PDFs in {args.corpus} (give --corpus)")
    total = {False: [0, 0], True: [0, 0]}
    print(f"{'file':28} {'tables off':>20} {'tables on':>20}")
    for f in files:
        row = []
        for on in (False, True):
            n, runs = number_runs(f, tables=on)
            total[on][0] += n
            total[on][1] += runs
            row.append(f"{runs:4d} of {n:5d} sentences")
        print(f"{f.name:28} {row[0]:>20} {row[1]:>20}")
    off, on = total[False][1], total[True][1]
    print(f"{'all':28} {off:4d} of {total[False][0]:5d} sentences {on:4d} of {total[True][0]:5d} sentences")
    print(f"runs of bare numbers in prose: {on} with tables against {off} without ({on / off:.2f}x)" if off else "none")


if __name__ == "__main__":
    main()
