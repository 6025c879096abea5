"""The examples in the kernel backend's docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["ebpf.kernel.sys", "ebpf.kernel.probes", "ebpf.kernel.maps", "ebpf.kernel.programs",
           "ebpf.kernel.structops",
           "ebpf.kernel.objects", "ebpf.kernel.info", "ebpf.kernel.btf", "ebpf.loader.kconfig",
           "ebpf.kernel.pin"]


@pytest.mark.kernel  # some examples create maps and load programs
@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
