"""Where the public bpf_conformance suite's data is: ``$EBPF_CONFORMANCE_DIR``, else
``shared/conformance`` beside the checkout or in any directory above it (CI clones
the project into a folder with a copy of ``shared/`` next to it)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the checkout


def conformance_dir() -> Path | None:
    """The suite's directory (holding ``tests/`` and ``negative/``), or None."""
    env = os.environ.get("EBPF_CONFORMANCE_DIR")
    if env:
        return Path(env)
    for parent in ROOT.parents:
        cand = parent / "shared" / "conformance"
        if (cand / "tests").is_dir():
            return cand
    return None


MISSING = ("conformance suite data not found: set EBPF_CONFORMANCE_DIR or put shared/conformance "
           "beside the checkout")
