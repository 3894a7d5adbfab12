"""Where citeqa keeps its index and derived files when no setting says: one place per user.

The data dir used to default to `./.citeqa`, so the index depended on the directory citeqa was
started in: `citeqa ask` from another folder, or an MCP client that starts `citeqa mcp` in a
folder of its own, found an empty index. The default is now the per-user data dir
(platformdirs: ~/.local/share/citeqa on Linux, ~/Library/Application Support/citeqa on macOS),
which every edge finds wherever it is started. CITEQA_DATA_DIR and --data-dir still override.
"""

from __future__ import annotations

import logging
from pathlib import Path

import platformdirs

log = logging.getLogger("citeqa")

APP = "citeqa"
LEGACY_DATA_DIR = Path(".citeqa")  # the default before the per-user data dir
_told: set[str] = set()


def user_data_dir() -> Path:
    return platformdirs.user_data_path(APP, appauthor=False)


def user_cache_dir() -> Path:
    return platformdirs.user_cache_path(APP, appauthor=False)


def legacy_data_dir() -> Path | None:
    """`./.citeqa` when the working directory has one with documents ingested (an index made before
    the per-user default): still used, so that nobody's index disappears on upgrade. The empty
    ones that `citeqa ask` used to leave in any folder it ran in (no ingest record) are not."""
    d = LEGACY_DATA_DIR
    try:
        ingested = any(d.glob("*.synced.json")) or any(d.glob("*.roots.txt"))
    except OSError:
        return None
    return d if ingested and (d / "milvus.db").exists() else None


def default_data_dir() -> Path:
    """The data dir when neither CITEQA_DATA_DIR nor --data-dir is given. Absolute, so that a
    message naming it means the same from any directory."""
    if (legacy := legacy_data_dir()) is not None:
        where = str(legacy.absolute())
        if where not in _told:  # once per process, however many Settings are built
            _told.add(where)
            log.warning(
                "using the index in %s (the working directory's .citeqa); the default is now %s: "
                "move it there, or set CITEQA_DATA_DIR",
                where,
                user_data_dir(),
            )
        return legacy.absolute()
    return user_data_dir()


def shown(path: Path) -> str:
    """`path` as a user types it: ~ for the home directory."""
    try:
        return "~/" + str(path.relative_to(Path.home()))
    except ValueError:
        return str(path)
