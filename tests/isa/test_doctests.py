"""The examples in the ISA modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["ebpf", "ebpf.isa", "ebpf.isa.codec", "ebpf.isa.disasm", "ebpf.isa.asm"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
