"""A folder of broken files through the whole pipeline and the CLI: each failure named with its reason,
the good files added, exit code 1, and what was indexed before left exactly as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from citeqa.cli import cli
from tests.conftest import REPO, SAMPLE_DOCS, make_settings, unprivileged

SAMPLE_PDF = SAMPLE_DOCS / "aurora_lake_field_station_2023.pdf"
CAP_MB = 0.05  # 51.2 KB: small enough for a test file to exceed, large enough for the good ones

GOOD_MD = "# Pelican survey\n\nThe pelican colony on Marsh Island counted 212 nesting pairs in May.\n"
OLD_TXT = "Ferry timetable.\n\nThe first ferry to Marsh Island leaves at 06:40 on weekdays.\n"
LEGACY = "Caf\u00e9 menu \u2013 \u201cna\u00efve\u201d prices: the soup costs 5\u20ac on Tuesdays."
CONTROL = b"Maintenance log.\n\nThe pump\x00 was\x07 serviced on\x1b 4 June;\x0b\x08 the seal was replaced.\n"

# name → the start of the reason the CLI must give
EXPECTED_FAILURES = {
    "truncated.pdf": "corrupt or truncated PDF (",
    "locked.pdf": "encrypted PDF (password required)",
    "empty.txt": "empty file",
    "scan.pdf": "no extractable text; scanned?",
    "blob.txt": "binary content, not text",
    "big.txt": "file is ",
    "loop": "symlink loop",
    "self.md": "symlink loop",
    "notes.docx": "corrupt or truncated Word file (",
    "page.html": "binary content, not an HTML page",
}
EXPECTED_ADDED = {"good.md", "good.pdf", "legacy.txt", "control.txt"}
EXPECTED_SKIPPED = 2  # sheet.xlsx, pipe.txt


def _pdf(path: Path, pages: list[str]) -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    for text in pages:
        c.drawString(72, 720, text)
        c.showPage()
    c.save()
    return path


def build_bad_folder(root: Path) -> Path:
    root.mkdir(parents=True)
    # the good ones
    (root / "good.md").write_text(GOOD_MD, encoding="utf-8")
    _pdf(
        root / "good.pdf",
        ["The lighthouse keeper logged 31 storms in 1911.", "The lamp used paraffin until 1952."],
    )
    (root / "old.txt").write_text(OLD_TXT, encoding="utf-8")
    # accepted with a warning, or cleaned
    (root / "legacy.txt").write_bytes(LEGACY.encode("cp1252"))
    (root / "control.txt").write_bytes(CONTROL)
    # failures
    data = SAMPLE_PDF.read_bytes()
    (root / "truncated.pdf").write_bytes(data[: len(data) // 2])
    writer = pypdf.PdfWriter(clone_from=SAMPLE_PDF)
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="RC4-128")
    writer.write(root / "locked.pdf")
    (root / "empty.txt").write_bytes(b"")
    blank = pypdf.PdfWriter()
    blank.add_blank_page(612, 792)
    blank.write(root / "scan.pdf")
    (root / "blob.txt").write_bytes(bytes(range(256)) * 16)
    (root / "big.txt").write_text(
        "A long line about tides and harbours.\n" * 2000, encoding="utf-8"
    )  # ~76 KB
    (root / "loop").symlink_to(root)  # a folder containing itself
    (root / "self.md").symlink_to(root / "self.md")  # ELOOP on open
    (root / "notes.docx").write_bytes(b"PK\x03\x04 not really a docx")
    (root / "page.html").write_bytes(bytes(range(256)) * 16)
    # skipped: not a supported type, not a regular file (a FIFO blocks forever if read)
    (root / "sheet.xlsx").write_bytes(b"PK\x03\x04 a spreadsheet")
    os.mkfifo(root / "pipe.txt")
    # a folder named like a PDF is a folder: walked, not opened
    (root / "folder.pdf").mkdir()
    return root


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("CITEQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout

    def invoke(*args: str, workers: int = 1, cap_mb: float = 100.0):
        env = {"CITEQA_WORKERS": str(workers), "CITEQA_MAX_FILE_MB": str(cap_mb)}
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    return invoke


def _docs(run) -> dict[str, dict]:
    r = run("docs", "--json")
    assert r.exit_code == 0, r.output
    return {Path(d["path"]).name: d for d in json.loads(r.stdout)}


def _chunk_ids(data_dir: Path, embedder, path: Path) -> list[str]:
    from citeqa.retrieval.store import Store

    with Store.open(make_settings(data_dir), embed_name=embedder.name, dim=embedder.dim) as store:
        return sorted(c["id"] for c in store.chunks_of(str(path)))


# workers=2 runs the parsers in worker processes: a failure there must come back as a result, not break the pool.
@pytest.mark.parametrize("workers", [1, 2])
def test_bad_folder_through_the_cli(run, tmp_path: Path, embedder, workers: int) -> None:
    folder = build_bad_folder(tmp_path / "in")
    old = folder / "old.txt"

    first = run("ingest", str(old), "--json")
    assert first.exit_code == 0, first.output
    before = _docs(run)["old.txt"]
    ids_before = _chunk_ids(tmp_path / "data", embedder, old)
    assert before["chunks"] == len(ids_before) > 0

    r = run("ingest", str(folder), "--json", workers=workers, cap_mb=CAP_MB)
    assert r.exit_code == 1, r.output
    report = json.loads(r.stdout)
    failed = {Path(f["path"]).name: f["error"] for f in report["failed"]}
    assert set(failed) == set(EXPECTED_FAILURES), failed
    for name, reason in EXPECTED_FAILURES.items():
        assert failed[name].startswith(reason), (name, failed[name])
        assert "Traceback" not in failed[name] and len(failed[name]) < 200
    assert "CITEQA_MAX_FILE_MB" in failed["big.txt"] and "over the 51.2 KB cap" in failed["big.txt"]
    assert all(str(folder) in f["path"] for f in report["failed"])  # full paths, not bare names
    assert report["files"] == {
        "added": len(EXPECTED_ADDED),
        "unchanged": 1,
        "failed": len(EXPECTED_FAILURES),
        "skipped": EXPECTED_SKIPPED,
        "removed": 0,
    }
    assert report["chunks_added"] > 0

    docs = _docs(run)
    assert set(docs) == EXPECTED_ADDED | {"old.txt"}
    assert docs["good.pdf"]["pages"] == 2
    # the document indexed before is untouched: same record (not even re-committed), same chunks
    assert docs["old.txt"] == before
    assert _chunk_ids(tmp_path / "data", embedder, old) == ids_before

    # cleaned and decoded text is what got indexed
    hits = json.loads(run("search", "soup price on Tuesdays", "--json", "--mode", "bm25").stdout)["hits"]
    assert (
        hits[0]["source"].endswith("legacy.txt")
        and "Caf\u00e9" in hits[0]["text"]
        and "5\u20ac" in hits[0]["text"]
    )
    hits = json.loads(run("search", "pump serviced seal replaced", "--json", "--mode", "bm25").stdout)["hits"]
    assert hits[0]["source"].endswith("control.txt")
    assert "The pump was serviced on 4 June;" in hits[0]["text"]
    assert not any(ch in hits[0]["text"] for ch in "\x00\x07\x1b\x08")


def test_bad_folder_human_output(run, tmp_path: Path) -> None:
    folder = build_bad_folder(tmp_path / "in")
    r = run("ingest", str(folder), cap_mb=CAP_MB)
    assert r.exit_code == 1
    assert r.stdout == ""  # progress, per-file lines and the summary all go to stderr
    lines = r.stderr.splitlines()
    failed_lines = [ln for ln in lines if ln.startswith("failed: ")]
    assert len(failed_lines) == len(EXPECTED_FAILURES), lines
    for name, reason in EXPECTED_FAILURES.items():
        assert any(ln.startswith(f"failed: {folder / name}: {reason}") for ln in failed_lines), (
            name,
            failed_lines,
        )
    assert f"warning: {folder / 'legacy.txt'}: not UTF-8; decoded as cp1252" in lines
    assert lines[-1].startswith(
        f"{len(EXPECTED_ADDED) + 1} added, 0 unchanged, {len(EXPECTED_FAILURES)} failed, 2 skipped"
    )
    assert "Traceback" not in r.output

    # -q: only errors, i.e. the failed files; -v: a line for every file
    quiet = run("-q", "ingest", str(folder), cap_mb=CAP_MB)
    assert quiet.exit_code == 1
    assert sorted(quiet.stderr.splitlines()) == sorted(failed_lines)
    verbose = run("-v", "ingest", str(folder), cap_mb=CAP_MB)
    assert f"unchanged: {folder / 'good.pdf'} (2 chunks, 2 pages)" in verbose.stderr.splitlines()
    assert f"skipped: {folder / 'sheet.xlsx'} (unsupported file type .xlsx)" in verbose.stderr.splitlines()
    assert f"skipped: {folder / 'pipe.txt'} (not a regular file)" in verbose.stderr.splitlines()
    # the same flags after the subcommand, where scripts tend to put them
    quiet_after = run("ingest", str(folder), "-q", cap_mb=CAP_MB)
    assert quiet_after.exit_code == 1
    assert sorted(quiet_after.stderr.splitlines()) == sorted(failed_lines)
    verbose_after = run("ingest", "-v", str(folder), cap_mb=CAP_MB)
    # the same lines (last: the timing); files read by parallel parser processes report in the
    # order they finish
    assert sorted(verbose_after.stderr.splitlines()[:-1]) == sorted(verbose.stderr.splitlines()[:-1])


def test_unreadable_file_and_folder(tmp_path: Path) -> None:
    """Mode 000 stops only a process without root's file capabilities: run the real CLI as one (setpriv)."""
    drop = unprivileged()
    folder = tmp_path / "in"
    (folder / "locked").mkdir(parents=True)
    (folder / "locked" / "inside.txt").write_text("hidden text")
    (folder / "secret.txt").write_text("top secret")
    (folder / "good.md").write_text(GOOD_MD)
    (folder / "secret.txt").chmod(0o000)
    (folder / "locked").chmod(0o000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env.update(CITEQA_DATA_DIR=str(tmp_path / "data"), CITEQA_WORKERS="1", HF_HUB_OFFLINE="1")
    try:
        out = subprocess.run(
            [*drop, sys.executable, "-m", "citeqa.cli", "ingest", str(folder), "--json"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        (folder / "locked").chmod(0o755)
        (folder / "secret.txt").chmod(0o644)
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    assert {Path(f["path"]).name: f["error"] for f in report["failed"]} == {
        "locked": "permission denied",
        "secret.txt": "permission denied",
    }
    assert report["files"]["added"] == 1


# -- a reader that makes no progress --------------------------------------------------------------


def _slow_pdf(path: Path, ops: int = 150_000) -> Path:
    """Page 1: one text object with `ops` positioned runs, seconds of work for pypdf on one page (a
    stand-in for the malformed pages that have made it loop); page 2: an ordinary sentence."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    text = c.beginText(10, 800)
    for i in range(ops):
        text.setTextOrigin(10 + (i % 50) * 11, 10 + (i // 50) % 790)
        text.textOut("ab")
    c.drawText(text)
    c.showPage()
    c.drawString(72, 720, "The second page says the harbour opened in 1871.")
    c.showPage()
    c.save()
    return path


@pytest.mark.parametrize("workers", [1, 2])
def test_a_page_without_progress_is_skipped_and_the_rest_is_read(tmp_path: Path, embedder, workers: int) -> None:
    from citeqa.engine import Citeqa

    folder = tmp_path / "docs"
    folder.mkdir()
    slow = _slow_pdf(folder / "slow.pdf")
    (folder / "note.txt").write_text("The lighthouse keeper rang the bell forty times.\n", encoding="utf-8")
    settings = make_settings(tmp_path / "data", parse_timeout=0.5, workers=workers)
    with Citeqa(settings, embedder=embedder) as qa:
        settled = []
        report = qa.ingest([folder], on_progress=lambda p: settled.append(p.result))
        assert report.count("added") == 2 and not report.failed
        (result,) = [r for r in settled if r is not None and r.path == str(slow)]
        assert result.pages == 1 and len(result.warnings) == 1  # page 2 only; page 1 stopped
        assert result.warnings[0].startswith("page 1: text extraction failed (stopped: no progress within CITEQA_PARSE_TIMEOUT")
        top = qa.search("When did the harbour open?", top_k=1)[0]
        assert (top.source, top.page) == (str(slow), 2) and "1871" in top.text


def test_a_reader_without_progress_is_stopped_and_the_rest_goes_on(tmp_path: Path, embedder) -> None:
    """A reader that makes no progress in a step it cannot leave out (here a text file far too
    long to read and chunk within the limit) is stopped by killing its parser process: the file is
    reported failed, naming the setting; the next file is read by the process that replaced it;
    what the index held before is kept."""
    from citeqa.engine import Citeqa

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "b_note.txt").write_text("The lighthouse keeper rang the bell forty times.\n", encoding="utf-8")
    settings = make_settings(tmp_path / "data", parse_timeout=0.5)
    with Citeqa(settings, embedder=embedder) as qa:
        assert qa.ingest([folder]).count("added") == 1
        sentence = "The harbour master counted {} boats in the bay before the storm arrived. "
        text = "".join(sentence.format(i) for i in range(150_000))  # ~11 MB: many seconds of reading
        (folder / "a_long.txt").write_text(text, encoding="utf-8")
        (folder / "c_note.txt").write_text("The ferry to the island left at dawn every Sunday.\n", encoding="utf-8")
        report = qa.ingest([folder])
        assert {Path(f.path).name: f.error for f in report.failed} == {
            "a_long.txt": "stopped: no progress within CITEQA_PARSE_TIMEOUT seconds (a malformed file can make its reader loop)"
        }
        assert report.count("added") == 1 and report.count("unchanged") == 1
        assert {Path(d.path).name for d in qa.documents()} == {"b_note.txt", "c_note.txt"}
        assert "forty" in qa.search("How often did the keeper ring the bell?", top_k=1)[0].text


def test_a_script_without_a_main_guard_ingests_once(tmp_path: Path) -> None:
    """The parser processes do not run the script that started the ingest again (multiprocessing
    would, to rebuild `__main__`): an unguarded script, as users write them, ingests once."""
    note = tmp_path / "note.txt"
    note.write_text("The lighthouse keeper rang the bell forty times.\n", encoding="utf-8")
    script = tmp_path / "ingest_once.py"
    script.write_text(
        "import citeqa\n"
        f"with citeqa.open() as qa:\n"
        f"    report = qa.ingest([{str(note)!r}])\n"
        "print('REPORT', report.count('added'), len(report.failed))\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEQA_")}
    env.update(CITEQA_DATA_DIR=str(tmp_path / "data"), CITEQA_WORKERS="1", PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, str(script)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [ln for ln in out.stdout.splitlines() if ln.startswith("REPORT")] == ["REPORT 1 0"]
