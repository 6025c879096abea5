"""Redirects through a DEVMAP, .kconfig externs from the host, strncmp, and
tracing-program helpers that only need to be loadable in the runtime."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def path(bpf_compile):
    return bpf_compile(PROGS / "extras.c")


def lb_results(obj):
    obj.maps["tx"][1] = 1
    obj.maps["tx"][2] = 1
    rets = [obj.programs["lb"].test_run(bytes([i]) + bytes(20)).retval for i in range(4)]
    return rets, dict(obj.maps["out"].items()), dict(obj.maps["tx"].items())


def test_redirect_map_kconfig_strncmp_in_vm(path):
    import os

    with ebpf.load(path, backend="vm") as obj:
        rets, out, tx = lb_results(obj)
        r = obj.programs["lb"].test_run(bytes([1]) + bytes(20))
        assert r.redirect is not None and r.redirect.map == "tx"
        del obj.maps["tx"][1]
        assert obj.programs["lb"].test_run(bytes([1]) + bytes(20)).retval == 2
    assert rets == [2, 4, 4, 2]  # XDP_REDIRECT where the slot is set, else the fallback
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    assert out[0] >> 8 == (major << 8) + minor
    assert (out[3], out[4]) == (0, 1)
    assert tx == {1: 1, 2: 1}


@pytest.mark.kernel
def test_same_as_kernel(path):
    results = {}
    for backend in ("kernel", "vm"):
        with ebpf.load(path, backend=backend) as obj:
            results[backend] = lb_results(obj)
    assert results["vm"] == results["kernel"]


def test_tracing_helpers_load_and_run(path):
    with ebpf.load(path, backend="vm") as obj:
        assert obj.programs["on_switch"].run([0]) == 0
        assert obj.maps["out"][5] == 0  # bpf_get_stackid: the program's call chain
        assert len(obj.maps["stacks"]) == 1
