"""Corpus of libbpf-style programs compiled once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

PROGS = Path(__file__).resolve().parent / "progs"
CORPUS = sorted(p.stem.removesuffix(".bpf") for p in PROGS.glob("*.bpf.c"))


@pytest.fixture(scope="session")
def corpus(bpf_compile):
    """name -> path of the object compiled by clang at -O2 (cached)."""
    cache: dict[tuple[str, tuple], Path] = {}

    def get(name: str, **kw) -> Path:
        key = (name, tuple(sorted(kw.items())))
        if key not in cache:
            cache[key] = bpf_compile(PROGS / f"{name}.bpf.c", name=name, **kw)
        return cache[key]

    get.compile_path = lambda path, **kw: bpf_compile(path, name=path.stem, **kw)
    return get
