"""Terminal progress for ingestion: files, chunks and ETA on stderr, a line per failed file."""

from __future__ import annotations

from tqdm import tqdm

from ingest.pipeline import IngestProgress


class IngestBar:
    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._bar: tqdm | None = None

    def __enter__(self) -> IngestBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

    def update(self, p: IngestProgress) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            self._bar = tqdm(total=p.total, unit="file", desc="ingest", dynamic_ncols=True, leave=True)
        self._bar.set_postfix_str(f"{p.chunks} chunks", refresh=False)
        self._bar.n = p.done
        self._bar.refresh()
        r = p.result
        if r is not None and r.status == "failed":
            self._bar.write(f"failed: {r.path}: {r.error}")
        elif r is not None:
            for w in r.warnings:
                self._bar.write(f"warning: {r.path}: {w}")
