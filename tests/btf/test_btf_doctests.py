"""The examples in ebpf.btf docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module", ["ebpf.btf", "ebpf.btf.types", "ebpf.btf.parse", "ebpf.btf.dump",
                                    "ebpf.btf.compat", "ebpf.btf.core", "ebpf.btf.ext",
                                    "ebpf.btf.render"])
def test_doctests(module):
    mod = importlib.import_module(module)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0
