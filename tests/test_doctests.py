"""Every docstring example of the package runs: each module of ``ebpf``, found by
walking the package (no hand-kept list), through doctest with ELLIPSIS, as
``pytest --doctest-modules`` would. Modules whose examples need the kernel
(bpf(2), perf events, tracefs) carry the kernel marker."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import ebpf

#: modules whose examples use the running kernel
KERNEL = ("ebpf.kernel", "ebpf.ringbuf", "ebpf.perfbuf", "ebpf.trace")


def _modules() -> list[str]:
    names = ["ebpf"]
    for info in pkgutil.walk_packages(ebpf.__path__, "ebpf."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # importing it would run the program
        names.append(info.name)
    return sorted(names)


MODULES = [pytest.param(n, marks=pytest.mark.kernel) if n.startswith(KERNEL) else n
           for n in _modules()]


def test_walk_finds_the_package():
    names = {p if isinstance(p, str) else p.values[0] for p in MODULES}
    assert {"ebpf.isa.asm", "ebpf.vm.maps", "ebpf.kernel.attach.usdt", "ebpf.btf.cache"} <= names
    assert len(names) > 150


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
