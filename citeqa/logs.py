"""Quiet by default, verbose with -v: the libraries under citeqa are chatty."""

from __future__ import annotations

import logging
import warnings

_NOISY = ("pypdf", "pymilvus", "grpc", "milvus_lite", "sentence_transformers", "transformers", "httpx", "urllib3", "filelock")


def configure(verbosity: int = 0) -> None:
    """verbosity: -1 quiet, 0 default (warnings from citeqa only), 1 info, 2+ debug for everything."""
    # pymilvus installs its own logging config on import; import it first so ours wins.
    import pymilvus  # noqa: F401

    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    noisy_level = logging.DEBUG if verbosity >= 2 else logging.ERROR
    for name in _NOISY:
        logging.getLogger(name).setLevel(noisy_level)
    # milvus-lite's in-process gRPC server logs probes it does not implement as errors.
    logging.getLogger("grpc._server").setLevel(logging.DEBUG if verbosity >= 2 else logging.CRITICAL)
    if verbosity < 2:
        warnings.filterwarnings("ignore")
    try:
        from transformers.utils import logging as tlog

        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except ImportError:
        pass
