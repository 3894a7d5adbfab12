"""Source files → `Document`s of cleaned page text, or a `DocumentError` saying why not."""

from __future__ import annotations

import codecs
import logging
import re
from pathlib import Path

from citeqa.core.errors import DocumentError
from citeqa.core.files import content_hash
from citeqa.core.types import Document, Page

SUPPORTED_SUFFIXES = {".pdf", ".txt", ".md", ".markdown"}

_MB = 2**20
_SNIFF_BYTES = 8192
# Share of control bytes in the sniffed head above which a "text" file is taken for binary.
_MAX_CONTROL_SHARE = 0.10
_FALLBACK_ENCODINGS = ("cp1252", "latin-1")
# Share of NUL bytes in the sniffed head above which even valid UTF-8 is taken for binary (one NUL never is).
_MAX_NUL_SHARE = 0.01

# C0 and C1 controls, DEL, and private-use code points (PDF symbol fonts map bracket
# pieces there; the embedder sees them as [UNK] and readers as boxes). \t and \n survive.
_JUNK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ue000-\uf8ff]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_MANY_NEWLINES = re.compile(r"\n{3,}")
# PDF fonts emit typographic ligatures; the embedding model's vocabulary lacks them
# (difﬁcult → di ##f ##ﬁ ##cu ##lt) and keyword search would never match "difficult".
_LIGATURES = str.maketrans(
    {
        "\ufb00": "ff",
        "\ufb01": "fi",
        "\ufb02": "fl",
        "\ufb03": "ffi",
        "\ufb04": "ffl",
        "\ufb05": "st",
        "\ufb06": "st",
    }
)


def clean_text(text: str) -> str:
    # Form feeds and vertical tabs separate pages/lines in text files; as newlines they keep words apart.
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = _JUNK.sub("", text).translate(_LIGATURES)
    text = _TRAILING_SPACE.sub("\n", text)
    return _MANY_NEWLINES.sub("\n\n", text).strip()


def load(path: Path, *, max_bytes: int) -> Document:
    """Parse one file. `max_bytes` is the size cap (CITEQA_MAX_FILE_MB × 2**20)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(path, _over_cap(size, max_bytes))
        if size == 0 or (size <= _SNIFF_BYTES and not path.read_bytes().strip()):
            raise DocumentError(path, "empty file")
        digest = content_hash(path)
        if path.suffix.lower() == ".pdf":
            pages, warnings = _load_pdf(path)
        else:
            pages, warnings = _load_text(path)
    except PermissionError:
        raise DocumentError(path, "permission denied") from None
    except FileNotFoundError:
        raise DocumentError(path, "no such file or directory") from None
    except IsADirectoryError:
        raise DocumentError(path, "is a directory") from None
    return Document(path=str(path), content_hash=digest, pages=tuple(pages), warnings=tuple(warnings))


def _over_cap(size: int, cap: int) -> str:
    shown = _size(size)
    if shown == _size(cap):  # 100.04 MB must not read as "100 MB, over the 100 MB cap"
        shown = f"{size / _MB:.3f} MB"
    return f"file is {shown}, over the {_size(cap)} cap (CITEQA_MAX_FILE_MB)"


def _size(n: int) -> str:
    if n >= _MB // 10:
        return f"{n / _MB:.1f}".removesuffix(".0") + " MB"
    if n >= 1024:
        return f"{n / 1024:.1f}".removesuffix(".0") + " KB"
    return f"{n} bytes"


# -- text -------------------------------------------------------------------------


def _load_text(path: Path) -> tuple[list[Page], list[str]]:
    data = path.read_bytes()
    if not data.strip():
        raise DocumentError(path, "empty file")
    text, warnings = _decode(path, data)
    text = clean_text(text)
    if not text:
        raise DocumentError(path, "empty file")
    return [Page(text=text, page=None)], warnings


def _decode(path: Path, data: bytes) -> tuple[str, list[str]]:
    # Windows editors save "Unicode" text as UTF-16 with a BOM; its NUL bytes are not binary.
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), []
        except UnicodeDecodeError:
            pass
    if _looks_binary(data[:_SNIFF_BYTES]):
        raise DocumentError(path, "binary content, not text")
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    for encoding in _FALLBACK_ENCODINGS:
        try:
            return data.decode(encoding), [f"not UTF-8; decoded as {encoding}"]
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")


def _looks_binary(head: bytes) -> bool:
    # NUL bytes mark binary formats, but a stray few in valid UTF-8 are damage to a text file
    # (a log cut by a crash, a copy-paste from a terminal): those are cleaned away, not refused.
    nuls = head.count(0)
    if nuls and (nuls > max(1, len(head) * _MAX_NUL_SHARE) or not _is_utf8(head)):
        return True
    # Bytes 0x80-0x9f are printable in cp1252, so only C0 controls other than whitespace count.
    controls = sum(1 for b in head if b < 0x20 and b not in b"\t\n\r\f\v\x1b")
    return bool(head) and controls / len(head) > _MAX_CONTROL_SHARE


def _is_utf8(head: bytes) -> bool:
    try:
        # Not final: the sniffed head may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


# -- PDF --------------------------------------------------------------------------


def _load_pdf(path: Path) -> tuple[list[Page], list[str]]:
    import pypdf
    from pypdf.errors import DependencyError

    # pypdf logs every odd font or xref entry at WARNING; to a user ingesting a folder that is noise.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = pypdf.PdfReader(path)
        # The reader has already tried the empty password, which opens "owner-password only" files.
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(path, "encrypted PDF (password required)")
        page_objs = list(reader.pages)
    except (DocumentError, OSError):
        raise
    except DependencyError as exc:
        raise _no_crypto(path, exc) from None
    except Exception as exc:  # pypdf raises PdfReadError, PdfStreamError, but also bare ValueError/KeyError
        raise DocumentError(path, f"corrupt or truncated PDF ({_short(exc)})") from None
    if not page_objs:
        raise DocumentError(path, "PDF has no pages")

    pages: list[Page] = []
    warnings: list[str] = []
    errors: list[str] = []
    for number, page in enumerate(page_objs, start=1):
        try:
            text = clean_text(page.extract_text() or "")
        except DependencyError as exc:
            # AES-128 files pass the password check without the crypto library, then fail on every page.
            raise _no_crypto(path, exc) from None
        except Exception as exc:  # one bad page must not cost the rest of the file
            errors.append(_short(exc))
            warnings.append(f"page {number}: text extraction failed ({_short(exc)})")
            continue
        if text:
            pages.append(Page(text=text, page=number))
    if not pages:
        if errors:
            raise DocumentError(path, f"corrupt or truncated PDF ({errors[0]})")
        raise DocumentError(path, "no extractable text; scanned?")
    return pages, warnings


def _no_crypto(path: Path, exc: Exception) -> DocumentError:
    return DocumentError(path, f"encrypted PDF (cannot decrypt: {_short(exc)})")


def _short(exc: BaseException, limit: int = 120) -> str:
    msg = " ".join(str(exc).split()) or type(exc).__name__
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"
