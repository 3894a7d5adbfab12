"""Abstention on questions about documents that are not indexed, against wrong abstention on
questions about documents that are.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/offcorpus.py [--corpus ../shared/corpus] [--per-article N] [--json out.json]

Half of the SQuAD articles in `squad/docs/` are ingested into a temporary data dir; then every
answerable question (or the first N of each article) is asked as `citeqa ask` asks it (default
settings, generation off, the answer as shown): a question about an article that is not indexed
should be abstained on ("not in your documents"), one about an indexed article should not. Prints
both rates and the abstentions by reason. Targets: off-corpus abstention >= 95% while wrong
abstention stays <= 5%.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
INDEXED = ("1973_oil_crisis.txt", "european_union_law.txt", "normans.txt")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    ap.add_argument("--per-article", type=int, default=0, help="questions per article (0: all answerable)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    squad = args.corpus / "squad"
    if not (squad / "questions.jsonl").exists():
        print(f"no SQuAD subset under {squad}", file=sys.stderr)
        return 2

    from citeqa.core.settings import Settings
    from citeqa.engine import Citeqa

    questions = [json.loads(line) for line in (squad / "questions.jsonl").read_text().splitlines() if line.strip()]
    per: Counter[str] = Counter()
    chosen = []
    for q in questions:
        if q["answerable"] and (not args.per_article or per[q["source"]] < args.per_article):
            per[q["source"]] += 1
            chosen.append(q)
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for name in INDEXED:
            (docs / name).write_bytes((squad / "docs" / name).read_bytes())
        settings = Settings(_env_file=None, data_dir=Path(tmp) / "data", generate="never")
        with Citeqa(settings) as engine:
            engine.ingest([docs])
            t0 = time.perf_counter()
            tally: dict[bool, list[int]] = {True: [0, 0], False: [0, 0]}  # indexed → [asked, abstained]
            reasons: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}
            for q in chosen:
                a = engine.ask(q["question"], generate="never")
                on = q["source"] in INDEXED
                tally[on][0] += 1
                tally[on][1] += a.abstained
                if a.abstained:
                    reasons[on][str(getattr(a, "abstain_reason", None))] += 1
            seconds = time.perf_counter() - t0
    off_rate = tally[False][1] / max(1, tally[False][0])
    wrong_rate = tally[True][1] / max(1, tally[True][0])
    result = {
        "off_corpus_questions": tally[False][0],
        "off_corpus_abstained": round(off_rate, 4),
        "indexed_questions": tally[True][0],
        "indexed_wrongly_abstained": round(wrong_rate, 4),
        "reasons_off_corpus": dict(reasons[False]),
        "reasons_indexed": dict(reasons[True]),
        "seconds": round(seconds, 1),
    }
    print(
        f"off-corpus questions abstained: {off_rate:.3f} of {tally[False][0]} (target >= 0.95)\n"
        f"indexed questions wrongly abstained: {wrong_rate:.3f} of {tally[True][0]} (target <= 0.05)\n"
        f"reasons off-corpus: {dict(reasons[False])}; indexed: {dict(reasons[True])}; {seconds:.1f} s"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
