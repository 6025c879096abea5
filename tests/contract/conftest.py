"""The contract suite: one behaviour, both backends. Each test runs the same
code on "kernel" and "vm"; ``same`` compares their outcomes (a result, or an
error's type and message)."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent
BACKENDS = [pytest.param("kernel", marks=pytest.mark.kernel), "vm"]


@pytest.fixture(scope="session")
def contract_obj(bpf_compile) -> Path:
    return bpf_compile(HERE / "contract.bpf.c")


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param
