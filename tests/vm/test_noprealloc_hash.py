"""A BPF_F_NO_PREALLOC hash is charged against the vm's map memory limit as its
elements come, as the kernel allocates them: a 16M-entry flow table loads (found by
tools/parity_sweep.py: netobserv's agent was refused at creation), and inserts past
the limit fail with -ENOMEM instead."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import ebpf
from ebpf.vm.maps import limits

PROGS = Path(__file__).parent / "progs"
PKT = bytes(64)


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "noprealloc_hash.c")


def fill(obj, first: int, count: int) -> int:
    """Add keys first..first+count-1, 32 a run; the last error any run saw."""
    err = 0
    obj.variables["count"].value = 32
    for start in range(first, first + count, 32):
        obj.variables["first"].value = start
        obj.variables["last_err"].value = 0
        obj.programs["add_flows"].test_run(PKT)
        err = obj.variables["last_err"].value or err
    return err


def test_charged_as_it_grows(obj_path):
    before = limits.charged()
    with ebpf.load(obj_path, backend="vm") as obj:
        assert limits.charged() - before < 1 << 20      # not 16M elements up front
        assert fill(obj, 0, 1024) == 0 and len(obj.maps["flows"]) == 1024
        grown = limits.charged() - before
        assert grown >= 1024 * limits.element_footprint(obj.maps["flows"].spec, 1)
        # the limit reached: the next elements cannot be allocated
        old = limits.map_memory_limit()
        limits.set_map_memory_limit(limits.charged())
        try:
            assert fill(obj, 5024, 224) == -errno.ENOMEM
            assert 1024 <= len(obj.maps["flows"]) < 1248
        finally:
            limits.set_map_memory_limit(old)
        assert fill(obj, 10_016, 96) == 0          # room again
    assert limits.charged() == before                # all of it given back


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    out = {}
    for backend in ("kernel", "vm"):
        with ebpf.load(obj_path, backend=backend) as obj:
            errs = [fill(obj, 0, 320), fill(obj, 224, 320)]   # 96 already there
            out[backend] = (errs, len(obj.maps["flows"]), obj.maps["flows"][250].packets)
    assert out["vm"] == out["kernel"]
    assert out["vm"][0][1] == -errno.EEXIST and out["vm"][1] == 544
