"""Receiving uploads: the multipart body streamed to files on disk, each file refused at its cap.

FastAPI's `UploadFile` would receive the whole body before the route runs, and the route then read
each file into memory: a 110 MB file over the 100 MB cap was received in full, then reported as
failed. Here the body is parsed as it arrives (python-multipart's streaming parser, the one
Starlette uses), each file goes to a private temporary file in the uploads folder, and the
request stops with 413 as soon as one file passes CITEQA_MAX_FILE_MB or the files are more than
CITEQA_MAX_UPLOAD_FILES.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from citeqa.core.settings import Settings
from citeqa.server.errors import ApiError

FIELD = "file"
# Sent with a 413: uvicorn then closes the connection instead of reading the rest of the body to
# keep it open, so that the client stops sending (and reads the answer: httpx, curl do).
STOP = {"Connection": "close"}
_MAX_FIELD_BYTES = 64 * 1024  # a form field that is not a file (none is used: only bounded)
_MAX_HEADER_BYTES = 16 * 1024  # a part's headers, all together


@dataclass
class Received:
    """One uploaded file, on disk until it is ingested."""

    name: str
    path: Path
    size: int = 0


@dataclass
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    header_bytes: int = 0
    name: str | None = None  # the file's name; None for a plain field
    out: BinaryIO | None = None
    size: int = 0


def _too_many(settings: Settings) -> ApiError:
    return ApiError(
        413,
        f"more than {settings.max_upload_files} files in one request (CITEQA_MAX_UPLOAD_FILES); send them in several",
        param=FIELD,
        code="too_large",
        headers=STOP,
    )


def _too_big(name: str, settings: Settings) -> ApiError:
    return ApiError(
        413,
        f"{name}: file is over the {settings.max_file_mb:g} MB limit (CITEQA_MAX_FILE_MB)",
        param=FIELD,
        code="too_large",
        headers=STOP,
    )


class _Receiver:
    """The parser's callbacks: the files of one request, written as they come."""

    def __init__(self, folder: Path, settings: Settings) -> None:
        self.folder = folder
        self.settings = settings
        self.files: list[Received] = []
        self.part = _Part()
        self.header_field = b""
        self.header_value = b""
        self.error: ApiError | None = None  # raised after the parser's write returns

    # python-multipart calls these with (data, start, end) slices.
    def on_part_begin(self) -> None:
        self.part = _Part()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]
        self._count_header(end - start)

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]
        self._count_header(end - start)

    def _count_header(self, n: int) -> None:
        self.part.header_bytes += n
        if self.part.header_bytes > _MAX_HEADER_BYTES and self.error is None:
            self.error = ApiError(400, "a part of the multipart body has oversized headers", param=FIELD)

    def on_header_end(self) -> None:
        self.part.headers[self.header_field.decode("latin-1").lower()] = self.header_value.decode("latin-1")
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.part.headers.get("content-disposition", ""))
        field_name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if field_name != FIELD or filename is None:
            return  # a plain field (or another name): counted, not kept
        if len(self.files) >= self.settings.max_upload_files:
            self.error = self.error or _too_many(self.settings)
            return
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".incoming-", suffix=".part")
        self.part.name = filename.decode("utf-8", "replace") or "upload"
        self.part.out = os.fdopen(fd, "wb")
        self.files.append(Received(self.part.name, Path(tmp)))

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return
        self.part.size += end - start
        if self.part.out is None:
            if self.part.size > _MAX_FIELD_BYTES:
                self.error = ApiError(
                    413, "a form field is over 64 KB; send the files as 'file' parts", code="too_large", headers=STOP
                )
            return
        if self.part.size > self.settings.max_file_bytes:
            self.error = _too_big(self.part.name or "upload", self.settings)
            return
        self.part.out.write(data[start:end])

    def on_part_end(self) -> None:
        if self.part.out is not None:
            self.part.out.close()
            self.files[-1].size = self.part.size

    def close(self) -> None:
        if self.part.out is not None and not self.part.out.closed:
            self.part.out.close()


async def receive_files(request: Request, settings: Settings) -> list[Received]:
    """The request's `file` parts, each in a temporary file under the uploads folder (the caller
    deletes them: `discard`). Raises ApiError: 413 at a cap, 400 for a body that is not
    multipart. Nothing is left on disk when it raises."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ApiError(400, "send the files as multipart/form-data, each in a part named 'file'", param=FIELD)
    folder = settings.uploads_dir
    folder.mkdir(parents=True, exist_ok=True)
    receiver = _Receiver(folder, settings)
    parser = MultipartParser(boundary, {name: getattr(receiver, name) for name in _CALLBACKS})
    try:
        try:
            async for chunk in request.stream():
                parser.write(chunk)
                if receiver.error is not None:
                    raise receiver.error
            parser.finalize()
        except ValueError as exc:  # python-multipart's parse errors
            raise ApiError(400, f"malformed multipart body: {exc}", param=FIELD) from None
    except BaseException:
        receiver.close()
        discard(receiver.files)
        raise
    receiver.close()
    if not receiver.files:
        discard(receiver.files)
        raise ApiError(400, "missing required field 'file' (one or more files, as multipart/form-data)", param=FIELD)
    return receiver.files


_CALLBACKS = (
    "on_part_begin",
    "on_header_field",
    "on_header_value",
    "on_header_end",
    "on_headers_finished",
    "on_part_data",
    "on_part_end",
)


def discard(files: list[Received]) -> None:
    for f in files:
        with contextlib.suppress(OSError):
            f.path.unlink()


def read_all(files: list[Received]) -> list[tuple[str, bytes]]:
    """The files' bytes, for the engine's upload path; read in the ingest thread, one request at a time."""
    return [(f.name, f.path.read_bytes()) for f in files]
