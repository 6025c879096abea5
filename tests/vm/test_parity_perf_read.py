"""bpf_perf_event_read/_read_value on PERF_EVENT_ARRAY slots: the vm's slots hold
no hardware counters, which it reports as the kernel does for an empty slot, after
the kernel's index and flag checks (the same object on both backends)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_perf_read.c")


def facts(path, backend: str) -> tuple:
    with ebpf.load(path, backend=backend) as obj:
        r = obj.programs["read_counters"].test_run(bytes(64))
        return r.retval, list(obj.variables["rets"].value), bytes(obj.variables["val"].raw)


def test_vm(obj_path):
    _, rets, val = facts(obj_path, "vm")
    assert rets == [-errno.ENOENT, -errno.E2BIG, -errno.EINVAL, -errno.ENOENT, -errno.ENOENT,
                    -errno.EINVAL, -errno.E2BIG]
    assert val == bytes(24)   # cleared on every failure


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")
