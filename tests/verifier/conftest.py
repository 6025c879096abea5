"""Shared fixtures: the corpus of real programs the test suite and the examples
build, compiled once per session (in parallel)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def corpus_sources() -> list[Path]:
    srcs = sorted(ROOT.glob("tests/**/progs/*.c")) + sorted(ROOT.glob("examples/*/*.bpf.c"))
    return srcs


@pytest.fixture(scope="session")
def corpus_objects(tmp_path_factory) -> list[Path]:
    """Every C program of tests/**/progs and examples/, compiled to an object."""
    import ebpf.toolchain

    out_dir = tmp_path_factory.mktemp("verifier_corpus")

    def build(src: Path) -> Path:
        out = out_dir / (str(src.relative_to(ROOT)).replace("/", "__") + ".o")
        ebpf.toolchain.compile(src, out)
        return out

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(build, corpus_sources()))
