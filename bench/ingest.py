"""Ingestion benchmark: citeqa vs the LangChain tutorial pipeline on the same corpus, same machine, same run.

    .venv/bin/pip install -e ".[bench]"
    HF_HUB_OFFLINE=1 .venv/bin/python bench/ingest.py [--corpus ../shared/corpus] [--repeat 3] [--json out.json]

Each pipeline runs end to end in a fresh child process (imports, model load, parsing, chunking,
embedding, writing to milvus-lite in a fresh temporary folder), as a user would run it:

* citeqa: `citeqa ingest <corpus>/pdfs <corpus>/squad/docs --json`, then the same command again
  with nothing changed (the re-run: hash check only);
* LangChain: PyPDFLoader / TextLoader → RecursiveCharacterTextSplitter(1000, 200) →
  HuggingFaceEmbeddings (the same bundled all-MiniLM-L6-v2 folder) → langchain_milvus.Milvus on milvus-lite.

Wall time is measured from the parent around the child; CPU time is the user+system time of the
child and all its descendants (getrusage, the parser processes included: bench/measure.py adopts
the ones that outlive their parent), which a busy shared machine disturbs less; peak RSS is the largest sum of the resident
memory of the child and all its descendants (parser workers, milvus-lite), polled every 50 ms with
psutil. With --repeat N the pipelines alternate N times and the table shows medians.

citeqa's chunks are bounded at 200 embedding tokens (~800 characters) and LangChain's at 1000
characters, so citeqa makes more chunks from the same text; compare wall time, not only chunks/s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.measure import REPO, env, run_measured

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"

TARGETS = {
    "first ingest, LangChain / citeqa wall time": 2.5,  # citeqa at least 2.5x faster
    "re-run, first / unchanged wall time": 50.0,  # an unchanged re-run at least 50x faster
}
RSS_LIMIT_MB = 2048
# Seconds of a first `citeqa ingest` outside the time it reports for its own work (interpreter
# start, imports before the command, closing the index, process exit).
HIDDEN_LIMIT_S = 3.0


def _env() -> dict[str, str]:
    return env()


def _inputs(corpus: Path) -> list[Path]:
    dirs = [corpus / "pdfs", corpus / "squad" / "docs"]
    missing = [d for d in dirs if not d.is_dir()]
    if missing:
        raise SystemExit(f"corpus folder missing: {missing[0]} (pass --corpus)")
    return dirs


# -- the two pipelines ----------------------------------------------------------------------------


def prepare_embedder(extra_env: dict[str, str]) -> float:
    """Export the int8 embedding model into the cache if it is not there yet; seconds taken.

    This happens once per machine and model (like building llama-cpp-python), not per ingest,
    so it is reported on its own line rather than inside the first ingest's time."""
    env = {**_env(), **extra_env}
    code = (
        "from citeqa.core.settings import Settings; from citeqa.retrieval.embedder import Embedder; "
        "Embedder.from_settings(Settings()).embed_documents(['warm'])"
    )
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=REPO, capture_output=True)
    return time.perf_counter() - t0


def bench_citeqa(dirs: list[Path], work: Path, extra_env: dict[str, str], reruns: int) -> tuple[dict, list[dict]]:
    """The first ingest, then `reruns` unchanged re-runs: a sub-second command timed once varies
    by a quarter on this 2-core machine, so it is timed several times and the median kept."""
    env = {**_env(), **extra_env, "CITEQA_DATA_DIR": str(work / "citeqa")}
    cmd = [sys.executable, "-m", "citeqa.cli", "ingest", *map(str, dirs), "--json"]
    first = run_measured(cmd, env)
    report = json.loads(first["stdout"])
    agains = []
    for _ in range(reruns):
        again = run_measured(cmd, env)
        report2 = json.loads(again["stdout"])
        if report2["files"]["unchanged"] != report["files"]["added"] or report2["chunks_added"]:
            raise SystemExit(f"the re-run was not a no-op: {report2}")
        again.update(chunks=0, files=report2["files"]["unchanged"], inner_s=report2["seconds"])
        agains.append(again)
    stats = json.loads(
        subprocess.run(
            [*cmd[:3], "stats", "--json"], env=env, capture_output=True, text=True, check=True, cwd=REPO
        ).stdout
    )
    first.update(
        pages=stats["pages"],
        chunks=stats["chunks"],
        files=report["files"]["added"],
        inner_s=report["seconds"],
    )
    for again in agains:
        again["pages"] = stats["pages"]
    return first, agains


def bench_langchain(dirs: list[Path], work: Path) -> dict:
    cmd = [sys.executable, __file__, "--langchain-child", str(work / "langchain.db"), *map(str, dirs)]
    res = run_measured(cmd, _env())
    res.update(json.loads(res["stdout"].strip().splitlines()[-1]))
    return res


def langchain_child(db: str, dirs: list[str]) -> None:
    """The LangChain RAG tutorial's ingestion, as written there, on the same files."""
    t0 = time.perf_counter()
    from langchain_community.document_loaders import PyPDFLoader, TextLoader
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_milvus import Milvus
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from citeqa.core.bundled import embedder_path

    files = sorted(p for d in dirs for p in Path(d).rglob("*") if p.suffix.lower() in {".pdf", ".txt", ".md"})
    t_import = time.perf_counter()
    docs = []
    for f in files:
        loader = PyPDFLoader(str(f)) if f.suffix.lower() == ".pdf" else TextLoader(str(f), encoding="utf-8")
        docs.extend(loader.load())
    t_load = time.perf_counter()
    splits = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(docs)
    t_split = time.perf_counter()
    embeddings = HuggingFaceEmbeddings(model_name=str(embedder_path()))
    # PDFs and text files carry different metadata keys: the dynamic field holds them all.
    Milvus.from_documents(
        splits,
        embeddings,
        connection_args={"uri": db},
        collection_name="bench",
        drop_old=True,
        enable_dynamic_field=True,
    )
    t_end = time.perf_counter()
    print(
        json.dumps(
            {
                "files": len(files),
                "pages": len(docs),
                "chunks": len(splits),
                "inner_s": t_end - t_import,
                "phases": {
                    "import": t_import - t0,
                    "load": t_load - t_import,
                    "split": t_split - t_load,
                    "embed+write": t_end - t_split,
                },
            }
        )
    )


# -- report ---------------------------------------------------------------------------------------


def _median_runs(runs: list[dict]) -> dict:
    out = dict(runs[0])
    for key in ("wall_s", "cpu_s", "peak_rss_mb", "inner_s"):
        out[key] = statistics.median(r[key] for r in runs)
    return out


def table(rows: dict[str, dict]) -> str:
    head = f"{'pipeline':<24}{'wall s':>9}{'CPU s':>9}{'reported s':>12}{'hidden s':>10}{'files':>7}{'pages':>7}{'chunks':>8}{'chunks/s':>10}{'peak RSS MB':>13}"
    lines = [head, "-" * len(head)]
    for name, r in rows.items():
        cps = r["chunks"] / r["wall_s"] if r["chunks"] else 0.0
        lines.append(
            f"{name:<24}{r['wall_s']:>9.2f}{r['cpu_s']:>9.1f}{r['inner_s']:>12.2f}{r['wall_s'] - r['inner_s']:>10.2f}{r['files']:>7}{r['pages']:>7}{r['chunks']:>8}{cps:>10.1f}{r['peak_rss_mb']:>13.0f}"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--repeat", type=int, default=1, help="alternate the pipelines N times; report medians")
    ap.add_argument("--only", choices=["citeqa", "langchain"], help="run one pipeline only")
    ap.add_argument("--reruns", type=int, default=5, help="unchanged re-runs timed per repeat (median)")
    ap.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="CITEQA_X=V",
        help="extra setting for citeqa (repeatable)",
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--langchain-child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.langchain_child:
        langchain_child(args.langchain_child[0], args.langchain_child[1:])
        return
    try:
        import psutil  # noqa: F401
    except ImportError:
        raise SystemExit('psutil is missing: .venv/bin/pip install -e ".[bench]"') from None

    dirs = _inputs(args.corpus.resolve())
    extra = dict(kv.split("=", 1) for kv in args.env)
    reruns = max(1, args.reruns)
    prepare_s = prepare_embedder(extra) if args.only != "langchain" else None
    runs: dict[str, list[dict]] = {"LangChain": [], "citeqa first ingest": [], "citeqa unchanged re-run": []}
    for i in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="citeqa-bench-") as tmp:
            work = Path(tmp)
            if args.only != "citeqa":
                runs["LangChain"].append(bench_langchain(dirs, work))
            if args.only != "langchain":
                first, agains = bench_citeqa(dirs, work, extra, reruns)
                runs["citeqa first ingest"].append(first)
                runs["citeqa unchanged re-run"].extend(agains)
            shutil.rmtree(work, ignore_errors=True)
        print(f"run {i + 1}/{args.repeat} done", file=sys.stderr)
    rows = {k: _median_runs(v) for k, v in runs.items() if v}
    for r in rows.values():
        r.pop("stdout", None)

    print(
        f"corpus: {', '.join(map(str, dirs))}; {os.cpu_count()} CPUs; medians of {args.repeat} run(s) "
        f"({args.repeat * reruns} for the unchanged re-run)"
    )
    if prepare_s is not None:
        print(f"citeqa one-time embedder preparation (int8 ONNX export, cached per machine): {prepare_s:.1f} s")
    print()
    print(table(rows))
    ratios: dict[str, float] = {}
    if "LangChain" in rows and "citeqa first ingest" in rows:
        ratios["first ingest, LangChain / citeqa wall time"] = (
            rows["LangChain"]["wall_s"] / rows["citeqa first ingest"]["wall_s"]
        )
        ratios["first ingest, LangChain / citeqa CPU time"] = (
            rows["LangChain"]["cpu_s"] / rows["citeqa first ingest"]["cpu_s"]
        )
        ratios["peak RSS, LangChain / citeqa"] = (
            rows["LangChain"]["peak_rss_mb"] / rows["citeqa first ingest"]["peak_rss_mb"]
        )
    if "citeqa first ingest" in rows:
        first, again = rows["citeqa first ingest"], rows["citeqa unchanged re-run"]
        ratios["re-run, first / unchanged wall time"] = first["wall_s"] / again["wall_s"]
        ratios["re-run, first / unchanged CPU time"] = first["cpu_s"] / again["cpu_s"]
        ratios["re-run, first / unchanged in-ingest time"] = first["inner_s"] / max(again["inner_s"], 1e-9)
    print()
    for name, value in ratios.items():
        target = TARGETS.get(name)
        verdict = (
            ""
            if target is None
            else ("  (target ≥ {:g}×: {})".format(target, "met" if value >= target else "NOT met"))
        )
        print(f"{name:<44}{value:>8.2f}×{verdict}")
    if "citeqa first ingest" in rows:
        hidden = max(r["wall_s"] - r["inner_s"] for r in runs["citeqa first ingest"])
        print(
            f"{'citeqa first ingest, wall − reported (max)':<44}{hidden:>8.2f} s   (target ≤ {HIDDEN_LIMIT_S:.0f} s: "
            f"{'met' if hidden <= HIDDEN_LIMIT_S else 'NOT met'})"
        )
        peak = max(r["peak_rss_mb"] for r in runs["citeqa first ingest"])
        print(
            f"{'citeqa peak RSS (max over runs)':<44}{peak:>8.0f} MB  (target < {RSS_LIMIT_MB} MB: {'met' if peak < RSS_LIMIT_MB else 'NOT met'})"
        )
    if "LangChain" in rows:
        print(
            "\nLangChain phases (s):",
            json.dumps({k: round(v, 2) for k, v in rows["LangChain"]["phases"].items()}),
        )
    if args.json:
        args.json.write_text(
            json.dumps({"rows": rows, "ratios": ratios, "runs": runs}, indent=2, default=str)
        )


if __name__ == "__main__":
    main()
