"""Map-in-maps declared the libbpf way (with a statically initialised slot):
programs look up an inner map and use it; user space swaps inner maps."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


def exercise(obj):
    p = obj.programs["mim"]
    rets = [p.test_run(bytes(n)).retval for n in (20, 21, 22)]
    obj.maps["outer"][1] = obj.maps["inner_b"]
    obj.maps["by_id"][7] = obj.maps["inner_b"]
    rets += [p.test_run(bytes(n)).retval for n in (20, 21, 22, 23)]
    return (rets, dict(obj.maps["inner_a"].items()), dict(obj.maps["inner_b"].items()),
            len(obj.maps["outer"]), len(obj.maps["by_id"]))


@pytest.fixture(scope="module")
def path(bpf_compile):
    return bpf_compile(PROGS / "map_in_map.c")


def test_map_in_map_vm(path):
    with ebpf.load(path, backend="vm") as obj:
        assert exercise(obj) == ([2, 1, 2, 2, 2, 2, 2], {0: 40, 1: 0, 2: 44, 3: 0},
                                 {0: 4, 1: 21, 2: 0, 3: 23}, 2, 1)


@pytest.mark.kernel
def test_map_in_map_matches_kernel(path):
    out = {}
    for backend in ("kernel", "vm"):
        with ebpf.load(path, backend=backend) as obj:
            out[backend] = exercise(obj)
    assert out["vm"] == out["kernel"]
