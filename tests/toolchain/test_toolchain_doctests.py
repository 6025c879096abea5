"""The examples in the toolchain's docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["ebpf.toolchain", "ebpf.toolchain.driver",
                                    "ebpf.toolchain.find", "ebpf.toolchain.vmlinux"])
def test_doctests(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
