"""Quiet by default, verbose with -v: the libraries under citeqa are chatty."""

from __future__ import annotations

import logging
import os
import warnings

_NOISY = ("pypdf", "pymilvus", "grpc", "milvus_lite", "sentence_transformers", "transformers", "httpx", "urllib3", "filelock")
_verbosity = 0


def configure(verbosity: int = 0) -> None:
    """verbosity: -1 quiet, 0 default (warnings from citeqa only), 1 info, 2+ debug for everything.

    Nothing heavy is imported here, so a command that turns out to have nothing to do (an
    unchanged re-ingest) starts in a fraction of a second; `quiet_libraries` runs again once the
    engine has imported pymilvus, which installs its own logging config on import."""
    global _verbosity
    _verbosity = verbosity
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    if verbosity < 2:
        warnings.filterwarnings("ignore")
        # Read by transformers when it is first imported; setting it beats importing it now.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    else:
        warnings.resetwarnings()  # -vv after the subcommand undoes the default's "ignore"
    quiet_libraries()


def quiet_libraries() -> None:
    noisy_level = logging.DEBUG if _verbosity >= 2 else logging.ERROR
    for name in _NOISY:
        logging.getLogger(name).setLevel(noisy_level)
    # milvus-lite's in-process gRPC server logs probes it does not implement as errors.
    logging.getLogger("grpc._server").setLevel(logging.DEBUG if _verbosity >= 2 else logging.CRITICAL)
    # pymilvus logs each failed call with a traceback; citeqa reports those it cannot recover from
    # (StoreError), and carries on without a word when the process serving the index exits.
    logging.getLogger("pymilvus.decorators").setLevel(logging.DEBUG if _verbosity >= 2 else logging.CRITICAL)
