"""Text files as they come: binary content under a text name, legacy encodings, byte-order marks,
NULs and CRLFs, and a file that is gone. Each gets a clear reason or clean text."""

from __future__ import annotations

from pathlib import Path

import pytest

from citeqa.ingest.loaders import load
from tests.test_loaders import CAP, _reason


@pytest.mark.parametrize(
    "data",
    [
        b"hello\x00world" * 10,  # NUL in the head
        bytes(range(1, 32)) * 40,  # mostly control bytes, no NUL
    ],
)
def test_binary_named_text(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(data)
    assert _reason(path) == "binary content, not text"


def test_image_named_markdown(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (64, 64), "red").save(tmp_path / "photo.md", format="PNG")
    assert _reason(tmp_path / "photo.md") == "binary content, not text"


def test_cp1252_text_decoded_with_warning(tmp_path: Path) -> None:
    path = tmp_path / "legacy.md"
    path.write_bytes("Caf\u00e9 menu \u2013 \u201cna\u00efve\u201d prices: 5\u20ac".encode("cp1252"))
    doc = load(path, max_bytes=CAP)
    assert doc.pages[0].text == "Caf\u00e9 menu \u2013 \u201cna\u00efve\u201d prices: 5\u20ac"
    assert doc.warnings == ("not UTF-8; decoded as cp1252",)


@pytest.mark.parametrize(
    ("encoding", "text"),
    [
        (
            "cp1251",
            "Совет порта в четверг утвердил новое расписание паромов. Последний паром теперь будет "
            "отходить от причала в 23:40, на два часа позже, чем сегодня. Это обойдётся совету в "
            "180 000 евро в год.",
        ),
        (
            "cp1250",
            "Rada portu zatwierdziła w czwartek nowy rozkład rejsów promowych. Ostatni prom odpłynie z "
            "mola o 23:40, dwie godziny później niż dziś. Koszt wyniesie 180 000 euro rocznie, "
            "częściowo pokryty z opłat parkingowych.",
        ),
        ("cp932", "港湾評議会は木曜日、新しいフェリーの時刻表を承認した。最終便は二十三時四十分に出港する。"),
    ],
)
def test_legacy_encodings_detected(tmp_path: Path, encoding: str, text: str) -> None:
    # Paragraphs, as real files hold: a line or two is too little to tell related encodings apart.
    path = tmp_path / "legacy.txt"
    path.write_bytes(text.encode(encoding))
    doc = load(path, max_bytes=CAP)
    assert doc.pages[0].text == text
    assert doc.warnings == (f"not UTF-8; decoded as {encoding}",)


def test_utf8_bom_and_utf16(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes("\ufeffhello".encode())
    (tmp_path / "wide.txt").write_bytes("hello wide world".encode("utf-16"))
    assert load(tmp_path / "bom.txt", max_bytes=CAP).pages[0].text == "hello"
    wide = load(tmp_path / "wide.txt", max_bytes=CAP)
    assert wide.pages[0].text == "hello wide world" and wide.warnings == ()


def test_nul_and_crlf_in_text_are_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(b"line one\r\n" * 1000 + b"bro\x00ken\r\n\r\n\r\n\r\nend\x07")
    doc = load(path, max_bytes=CAP)
    assert doc.pages[0].text.endswith("line one\nbroken\n\nend")
    assert "\r" not in doc.pages[0].text and doc.warnings == ()


def test_missing_file(tmp_path: Path) -> None:
    assert _reason(tmp_path / "gone.pdf") == "no such file or directory"
