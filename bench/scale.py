"""Scale benchmark: citeqa on N generated small documents, against the six corpus PDFs, same run.

    .venv/bin/pip install -e ".[bench]"
    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py [--n 20000] [--corpus ../shared/corpus] [--json out.json]

It generates N small text documents (a paragraph about one fictional project each, with facts only
that document holds) into a temporary folder, then runs, each as a user would in a fresh child
process with a fresh data dir:

1. the baseline: `citeqa ingest <corpus>/pdfs` (six papers); its peak RSS is what the N-file
   ingest's is compared with;
2. the first `citeqa ingest` of the N files: files/s, chunks/s, peak RSS of the process tree,
   and wall time against the seconds the command reports (time it does not account for);
3. the unchanged re-run (median of 3);
4. 1% of the files changed and 1% deleted, then `citeqa ingest --prune`;
5. `citeqa docs --json` (listing every document);
6. search latency: 100 questions, one at a time, in one process with the models loaded (after 5
   warm-up questions), p50 and p95, and how often the top hit is the document holding the fact;
7. OCR: a scanned PDF made from pages of a corpus PDF (rendered to images with pypdfium2 and
   wrapped back into a PDF without a text layer): OCR pages/s, then `citeqa ingest` of it and
   `citeqa search` for a phrase on its last page, which must cite that page.

It prints each measurement with its target, and the ratios against the baseline.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import REPO, citeqa, env, run_measured

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
TARGETS = {
    "peak_rss_ratio": 1.2,  # N-file ingest / six-PDF ingest, at most
    "files_per_s": 57.0,  # at least
    "rerun_s": 2.0,  # at most
    "search_p95_s": 0.3,  # at most
}
CITIES = ["Oslo", "Lima", "Perth", "Quito", "Turin", "Dakar", "Hanoi", "Cork", "Graz", "Fez", "Austin", "Leeds"]
THINGS = ["pump", "bridge", "archive", "turbine", "library", "clinic", "orchard", "harbour", "observatory", "depot"]
OCR_SOURCE = ("adam.pdf", 2, "Algorithm 1: Adam, our proposed algorithm for stochastic optimization")


# -- the documents -------------------------------------------------------------------------------


def document(i: int, rng: random.Random) -> tuple[str, dict]:
    code = f"K{i:05d}"
    city, thing = rng.choice(CITIES), rng.choice(THINGS)
    facts = {"code": code, "city": city, "thing": thing, "budget": rng.randint(10, 990) * 1000, "year": rng.randint(1950, 2024)}
    text = "\n".join(
        [
            f"Project {code}: the {city} {thing}.",
            f"The {thing} project {code} in {city} was started in {facts['year']} with a budget of {facts['budget']} euros.",
            f"It employs {rng.randint(3, 400)} people and is run by a cooperative of {rng.randint(2, 40)} members.",
            f"Inspections of the {thing} take place every {rng.randint(2, 36)} months, and the last one found "
            f"{rng.randint(0, 12)} defects.",
            f"Local residents describe the {thing} as {rng.choice(['essential', 'noisy', 'beautiful', 'overdue', 'expensive'])}.",
        ]
    )
    return text + "\n", facts


def path_of(root: Path, i: int) -> Path:
    return root / f"{i // 1000:03d}" / f"doc{i:05d}.txt"


def generate(root: Path, n: int) -> list[dict]:
    rng = random.Random(7)
    facts = []
    for i in range(n):
        text, f = document(i, rng)
        p = path_of(root, i)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        facts.append(f)
    return facts


# -- the runs ------------------------------------------------------------------------------------


def ingest(paths: list[Path], data: Path, *extra: str) -> dict:
    res = run_measured(citeqa("ingest", *map(str, paths), "--json", *extra), env(CITEQA_DATA_DIR=str(data)))
    res["report"] = json.loads(res["stdout"])
    return res


def search_child(data: str, questions_file: str) -> None:
    """In a child process: the engine opened once, then each question searched on its own."""
    import citeqa as api
    from citeqa.core.settings import Settings

    rows = [json.loads(line) for line in Path(questions_file).read_text().splitlines()]
    with api.open(Settings.load(data_dir=Path(data))) as qa:
        for r in rows[:5]:
            qa.search(r["question"])  # warm-up: model load, first-query plans
        out = []
        for r in rows[5:]:
            t0 = time.perf_counter()
            hits = qa.search(r["question"])
            out.append({"s": time.perf_counter() - t0, "hit": bool(hits) and Path(hits[0].source).name == r["source"]})
    print(json.dumps(out))


def search_latency(data: Path, facts: list[dict], root: Path, work: Path, n: int = 100) -> dict:
    rng = random.Random(11)
    picks = rng.sample(range(len(facts)), min(len(facts), n + 5))
    qfile = work / "questions.jsonl"
    qfile.write_text(
        "".join(
            json.dumps(
                {
                    "question": f"What was the budget of project {facts[i]['code']} in {facts[i]['city']}?",
                    "source": path_of(root, i).name,
                }
            )
            + "\n"
            for i in picks
        )
    )
    res = run_measured([sys.executable, __file__, "--search-child", str(data), str(qfile)], env(CITEQA_DATA_DIR=str(data)))
    rows = json.loads(res["stdout"].strip().splitlines()[-1])
    times = sorted(r["s"] for r in rows)
    return {
        "queries": len(rows),
        "p50_s": statistics.median(times),
        "p95_s": times[min(len(times) - 1, round(0.95 * len(times)) - 1)],
        "top1_hit": sum(r["hit"] for r in rows) / len(rows),
    }


def change_and_delete(root: Path, n: int) -> tuple[int, int]:
    """Append a sentence to 1% of the files and delete another 1%."""
    k = max(1, n // 100)
    for i in range(0, n, n // k)[:k]:
        with path_of(root, i).open("a", encoding="utf-8") as fh:
            fh.write("A later audit confirmed the figures above.\n")
    deleted = [i + 1 for i in range(0, n, n // k)[:k] if i + 1 < n]
    for i in deleted:
        path_of(root, i).unlink()
    return k, len(deleted)


def ocr_check(corpus: Path, work: Path, pages: int) -> dict:
    """A scanned copy of the first `pages` pages of a corpus PDF: OCR pages/s in this process,
    then a real ingest and a search for a phrase on its last page."""
    import pypdfium2 as pdfium

    from citeqa.ingest.loaders import load
    from citeqa.ingest.ocr import Ocr

    name, page, phrase = OCR_SOURCE
    pages = max(pages, page)
    src = pdfium.PdfDocument(str(corpus / "pdfs" / name))
    images = [src[i].render(scale=150 / 72).to_pil().convert("L") for i in range(pages)]
    src.close()
    scan = work / "scan" / f"scanned-{name}"
    scan.parent.mkdir()
    images[0].save(scan, "PDF", resolution=150, save_all=True, append_images=images[1:])
    ocr = Ocr()
    if ocr.problem():
        return {"skipped": ocr.problem()}
    t0 = time.perf_counter()
    doc = load(scan, max_bytes=10**9, ocr=ocr)
    seconds = time.perf_counter() - t0
    data = work / "scan-data"
    ing = ingest([scan], data)
    found = run_measured(citeqa("search", phrase, "-k", "1", "--json"), env(CITEQA_DATA_DIR=str(data)))
    hit = (json.loads(found["stdout"])["hits"] or [{}])[0]
    return {
        "pages": doc.ocr_pages,
        "seconds": seconds,
        "pages_per_s": doc.ocr_pages / seconds,
        "ingest_report": ing["report"],
        "search_top_page": hit.get("page"),
        "expected_page": page,
    }


# -- report --------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20_000, help="documents to generate (default 20,000)")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--ocr-pages", type=int, default=3, help="pages of the scanned PDF (0: skip the OCR check)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--search-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.search_child:
        search_child(*args.search_child)
        return
    pdfs = args.corpus.resolve() / "pdfs"
    if not pdfs.is_dir():
        raise SystemExit(f"corpus folder missing: {pdfs} (pass --corpus)")

    out: dict = {"n": args.n}
    with tempfile.TemporaryDirectory(prefix="citeqa-scale-") as tmp:
        work = Path(tmp)
        root = work / "docs"
        t0 = time.perf_counter()
        facts = generate(root, args.n)
        print(f"generated {args.n} documents in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

        base = ingest([pdfs], work / "base-data")
        out["baseline"] = {k: base[k] for k in ("wall_s", "peak_rss_mb")} | {"report": base["report"]}
        print(f"baseline (six PDFs) done: {base['wall_s']:.1f} s, {base['peak_rss_mb']:.0f} MB", file=sys.stderr)

        data = work / "data"
        first = ingest([root], data)
        rep = first["report"]
        out["first"] = {k: first[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")} | {"report": rep}
        print(f"first ingest done: {first['wall_s']:.1f} s", file=sys.stderr)

        reruns = [ingest([root], data) for _ in range(3)]
        assert all(r["report"]["files"]["unchanged"] == args.n for r in reruns), reruns[0]["report"]
        out["rerun_s"] = statistics.median(r["wall_s"] for r in reruns)

        changed, deleted = change_and_delete(root, args.n)
        prune = ingest([root], data, "--prune")
        out["prune"] = {"wall_s": prune["wall_s"], "peak_rss_mb": prune["peak_rss_mb"], "report": prune["report"]}
        files = prune["report"]["files"]
        assert (files["added"], files["removed"]) == (changed, deleted), files

        listing = run_measured(citeqa("docs", "--json"), env(CITEQA_DATA_DIR=str(data)))
        listed = len(json.loads(listing["stdout"]))
        assert listed == args.n - deleted, listed
        out["docs"] = {"wall_s": listing["wall_s"], "listed": listed}

        out["search"] = search_latency(data, facts, root, work)
        if args.ocr_pages:
            out["ocr"] = ocr_check(args.corpus.resolve(), work, args.ocr_pages)

    print_report(out, changed, deleted)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


def print_report(out: dict, changed: int, deleted: int) -> None:
    n, base, first = out["n"], out["baseline"], out["first"]
    rep = first["report"]
    files_s = rep["files"]["added"] / first["wall_s"]
    chunks_s = rep["chunks_added"] / first["wall_s"]
    ratio = first["peak_rss_mb"] / base["peak_rss_mb"]
    hidden = first["wall_s"] - rep["seconds"]
    s = out["search"]
    print(f"\n{n} generated documents; baseline: `citeqa ingest` of the six corpus PDFs in the same run\n")
    rows = [
        ("baseline: six PDFs, first ingest", f"{base['wall_s']:.1f} s wall, peak RSS {base['peak_rss_mb']:.0f} MB", ""),
        (
            "first ingest",
            f"{first['wall_s']:.1f} s wall ({rep['seconds']:.1f} s reported, {hidden:.1f} s outside), "
            f"{rep['chunks_added']} chunks",
            "",
        ),
        ("  files/s", f"{files_s:.1f}", f"target ≥ {TARGETS['files_per_s']:.0f}: {verdict(files_s >= TARGETS['files_per_s'])}"),
        ("  chunks/s", f"{chunks_s:.1f}", ""),
        (
            "  peak RSS (process tree)",
            f"{first['peak_rss_mb']:.0f} MB = {ratio:.2f}× the six PDFs'",
            f"target ≤ {TARGETS['peak_rss_ratio']}×: {verdict(ratio <= TARGETS['peak_rss_ratio'])}",
        ),
        ("unchanged re-run (median of 3)", f"{out['rerun_s']:.2f} s", f"target ≤ {TARGETS['rerun_s']:.0f} s: {verdict(out['rerun_s'] <= TARGETS['rerun_s'])}"),
        (
            f"{changed} changed + {deleted} deleted, --prune",
            f"{out['prune']['wall_s']:.1f} s wall, peak RSS {out['prune']['peak_rss_mb']:.0f} MB",
            "",
        ),
        ("`citeqa docs --json`", f"{out['docs']['wall_s']:.2f} s for {out['docs']['listed']} documents", ""),
        (
            f"search, {s['queries']} questions, models loaded",
            f"p50 {s['p50_s'] * 1000:.0f} ms, p95 {s['p95_s'] * 1000:.0f} ms; top hit right {s['top1_hit']:.0%}",
            f"target p95 ≤ {TARGETS['search_p95_s']} s: {verdict(s['p95_s'] <= TARGETS['search_p95_s'])}",
        ),
    ]
    ocr = out.get("ocr")
    if ocr and "skipped" in ocr:
        rows.append(("OCR", f"skipped: {ocr['skipped']}", ""))
    elif ocr:
        right = ocr["search_top_page"] == ocr["expected_page"]
        rows.append(("OCR (Tesseract, 200 dpi)", f"{ocr['pages']} pages in {ocr['seconds']:.1f} s = {ocr['pages_per_s']:.2f} pages/s", ""))
        rows.append(
            ("  scanned PDF: search cites", f"p. {ocr['search_top_page']} (expected p. {ocr['expected_page']})", "right" if right else "WRONG")
        )
    width = max(len(r[0]) for r in rows) + 2
    for name, value, target in rows:
        print(f"{name:<{width}}{value}" + (f"   ({target})" if target else ""))


if __name__ == "__main__":
    main()
