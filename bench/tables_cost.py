"""What PDF table detection costs an ingest: the corpus PDFs ingested into a fresh data dir with
table detection on and off, alternating, in the same run; CPU time of the whole process tree (the
parser processes included, see bench/measure.py). Off is a `sitecustomize` that makes the PDF
reader find no tables in every process of the tree; on imports the same module, so both pay the
same start-up.

    python bench/tables_cost.py [--corpus ../shared/corpus/pdfs] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from measure import REPO, citeqa, env, run_measured

_SITE = {
    "on": "import citeqa.ingest.formats.pdf  # noqa: F401\n",
    "off": "import citeqa.ingest.formats.pdf as _pdf\n_pdf._tables = lambda path, texts, warnings: {}\n",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus" / "pdfs")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if not list(args.corpus.glob("*.pdf")):
        sys.exit(f"no PDFs in {args.corpus} (give --corpus)")
    work = Path(tempfile.mkdtemp(prefix="citeqa-tables-"))
    for name, code in _SITE.items():
        (work / name).mkdir()
        (work / name / "sitecustomize.py").write_text(code)
    cpu: dict[str, list[float]] = {"on": [], "off": []}
    for r in range(args.rounds):
        for name in ("on", "off") if r % 2 == 0 else ("off", "on"):
            data = work / f"data-{name}-{r}"
            out = run_measured(citeqa("ingest", str(args.corpus)), env(CITEQA_DATA_DIR=str(data), PYTHONPATH=f"{work / name}:{REPO}"))
            cpu[name].append(out["cpu_s"])
            print(f"tables {name:3}: {out['cpu_s']:.1f} s CPU, {out['wall_s']:.1f} s wall", flush=True)
    on, off = statistics.median(cpu["on"]), statistics.median(cpu["off"])
    print(f"ingest of the corpus PDFs: {on:.1f} s CPU with table detection, {off:.1f} s without: {on / off:.2f}x")


if __name__ == "__main__":
    main()
