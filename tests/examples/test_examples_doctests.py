"""The examples in the docstrings of histogram, live view, ebpf run and demo run."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["ebpf.histogram", "ebpf.live", "ebpf.cli.run", "ebpf.demo"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
