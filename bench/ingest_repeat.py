"""One-file ingests, one after another in one process, as `citeqa watch`, the web app and
`citeqa serve` make them: the time of each after the first (models loaded, parser processes
started), which is what a user waits for after saving a file.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/ingest_repeat.py [--files 12] [--rounds 3] [--compare DIR]

Each round runs a fresh child process (bench.measure: CPU time of the whole process tree, parser
processes included) that opens an engine on an empty data dir and ingests `--files` new text
files (and, with --pdf, copies of the sample PDF, each made different) one at a time. The first
ingest (model loading, first parser start) is reported apart; the table shows the median of the
later ones, closing the engine, and the resident memory of the parser processes left running
before it closed. `--compare DIR` also measures another checkout of citeqa (e.g. `git archive <commit> |
tar -x -C DIR`), alternating with this one in the same run, so both are timed under the same load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

TEXT = "Field note {i}.\n\nThe heron colony on the north shore counted {n} nests in week {i}.\n"


def child(data: Path, count: int, pdf: bool) -> None:
    """Ingest `count` new files one at a time; print the seconds of each, and of closing."""
    import citeqa

    folder = data.parent / "files"
    folder.mkdir()
    sample = Path(__file__).resolve().parents[1] / "sample_docs" / "aurora_lake_field_station_2023.pdf"
    seconds = []
    t0 = time.perf_counter()
    with citeqa.open(citeqa.Settings(_env_file=None, data_dir=data)) as qa:
        for i in range(count):
            if pdf and i % 2:
                f = folder / f"report_{i}.pdf"
                f.write_bytes(sample.read_bytes() + f"\n% copy {i}\n".encode())  # a new content hash
            else:
                f = folder / f"note_{i}.txt"
                f.write_text(TEXT.format(i=i, n=100 + i), encoding="utf-8")
            t = time.perf_counter()
            report = qa.ingest([f])
            seconds.append(time.perf_counter() - t)
            assert report.count("added") == 1 and not report.failed, report
        rss = parsers_rss()
        t_close = time.perf_counter()
    done = time.perf_counter()
    print(json.dumps({"ingest_s": seconds, "close_s": done - t_close, "total_s": done - t0, "parsers_mb": rss}))


def parsers_rss() -> float:
    """Resident MB of the parser processes still running (multiprocessing's fork server's children)."""
    import psutil

    total = 0
    for c in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if "multiprocessing.forkserver" in " ".join(c.cmdline()):
                total += sum(p.memory_info().rss for p in c.children())
    return total / 2**20


def package_of(checkout: Path, into: Path) -> Path:
    """A folder that imports as `citeqa` from `checkout` (its top-level folders laid out as the
    package, per its pyproject's package-dir), for PYTHONPATH."""
    dirs = tomllib.loads((checkout / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    root = into / "citeqa"
    root.mkdir(parents=True)
    for entry in (checkout / dirs["citeqa"]).iterdir():
        (root / entry.name).symlink_to(entry)
    for name, folder in dirs.items():
        if name != "citeqa":
            (root / name.split(".", 1)[1]).symlink_to(checkout / folder)
    return into


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=12, help="files ingested one at a time per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pdf", action="store_true", help="every other file a (different) copy of the sample PDF")
    ap.add_argument("--compare", type=Path, metavar="DIR", help="another checkout of citeqa, measured alternately")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.files, args.pdf)
        return

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from bench.measure import env, run_measured

    with tempfile.TemporaryDirectory(prefix="citeqa-repeat-") as tmp:
        variants = {"this tree": env()}
        if args.compare:
            other = package_of(args.compare.resolve(), Path(tmp) / "other")
            variants[f"{args.compare}"] = env(PYTHONPATH=str(other))
        runs: dict[str, list[dict]] = {name: [] for name in variants}
        for r in range(args.rounds):
            for name, child_env in variants.items():
                work = Path(tmp) / f"{r}-{len(runs[name])}-{abs(hash(name))}"
                work.mkdir()
                cmd = [sys.executable, __file__, "--child", str(work / "data"), "--files", str(args.files)]
                # Run from the work folder: from the repository, a process started with `python -c`
                # (multiprocessing's fork server) would import this tree's citeqa for the other's.
                res = run_measured(cmd + (["--pdf"] if args.pdf else []), child_env, cwd=work)
                res.update(json.loads(res.pop("stdout").strip().splitlines()[-1]))
                runs[name].append(res)
                shutil.rmtree(work, ignore_errors=True)
            print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    print(f"{args.files} one-file ingests per round, {args.rounds} round(s); medians")
    head = f"{'citeqa':<28}{'first s':>9}{'later s':>9}{'later p90':>10}{'close s':>9}{'child CPU s':>12}{'child wall s':>13}{'parsers MB':>11}"
    print(head + "\n" + "-" * len(head))
    rows = {}
    for name, rs in runs.items():
        later = sorted(s for r in rs for s in r["ingest_s"][1:])
        rows[name] = {
            "first_s": statistics.median(r["ingest_s"][0] for r in rs),
            "later_s": statistics.median(later),
            "later_p90_s": later[int(0.9 * (len(later) - 1))],
            "close_s": statistics.median(r["close_s"] for r in rs),
            "cpu_s": statistics.median(r["cpu_s"] for r in rs),
            "wall_s": statistics.median(r["wall_s"] for r in rs),
            "parsers_mb": statistics.median(r["parsers_mb"] for r in rs),
        }
        v = rows[name]
        print(
            f"{name[-28:]:<28}{v['first_s']:>9.3f}{v['later_s']:>9.3f}{v['later_p90_s']:>10.3f}{v['close_s']:>9.3f}{v['cpu_s']:>12.2f}{v['wall_s']:>13.2f}{v['parsers_mb']:>11.0f}"
        )
    if args.json:
        for rs in runs.values():
            for r in rs:
                r.pop("stderr", None)
        args.json.write_text(json.dumps({"rows": rows, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
