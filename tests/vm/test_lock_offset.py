"""A bpf_spin_lock not at the start of a map value: the verifier finds it at its
BTF offset (bits, in BTF, turned to bytes; netobserv's flow records were refused:
found by tools/parity_sweep.py), and the runs give the kernel's counts."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "lock_not_first.c")


def counts(path, backend: str) -> dict:
    with ebpf.load(path, backend=backend) as obj:
        for n in range(60, 90):
            assert obj.programs["count"].test_run(bytes(n)).retval == 0
        return {bytes(k): bytes(v) for k, v in
                ((k, obj.maps["recs"].lookup_bytes(k)) for k in obj.maps["recs"].raw_keys())}


def test_vm(obj_path):
    c = counts(obj_path, "vm")
    assert len(c) == 8
    assert sum(int.from_bytes(v[:8], "little") for v in c.values()) == 30


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    def no_lock(c):  # the lock word itself is the kernel's business
        return {k: v[:48] + v[52:] for k, v in c.items()}
    assert no_lock(counts(obj_path, "vm")) == no_lock(counts(obj_path, "kernel"))
