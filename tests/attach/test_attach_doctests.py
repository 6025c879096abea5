"""The examples in the attach, ring buffer and trace modules' docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["ebpf.kernel.attach", "ebpf.kernel.links", "ebpf.kernel.perf", "ebpf.kernel.tracefs",
           "ebpf.kernel.uprobe", "ebpf.kernel.netlink", "ebpf.kernel.ringbuf",
           "ebpf.kernel.perfbuf", "ebpf.ringbuf", "ebpf.perfbuf", "ebpf.trace"]


@pytest.mark.kernel  # perf events, tracefs
@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
