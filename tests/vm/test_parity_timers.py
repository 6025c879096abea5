"""BPF timers: armed from a tc program, their callbacks run later on the element
they live in (the same object on both backends; the kernel is the reference)."""

from __future__ import annotations

import errno
import time
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_timers.c")


def elem(raw: bytes) -> tuple[int, int, bytes]:
    return (int.from_bytes(raw[16:24], "little"), int.from_bytes(raw[24:32], "little"),
            bytes(raw[:16]))


def facts(path, backend: str) -> dict:
    with ebpf.load(path, backend=backend) as obj:
        retval = obj.programs["arm"].test_run(bytes(64)).retval
        v = obj.variables
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:   # the callbacks run on their own
            e0 = elem(obj.maps["timers"].lookup_bytes((0).to_bytes(4, "little")))
            h = elem(obj.maps["by_id"].lookup_bytes((42).to_bytes(8, "little")))
            if e0[0] and h[0]:
                break
            time.sleep(0.01)
        time.sleep(0.05)
        return {"retval": retval, "rets": list(v["rets"].value),
                "cancel_self": v["cancel_self"].value,
                "e0": elem(obj.maps["timers"].lookup_bytes((0).to_bytes(4, "little"))),
                "e1": elem(obj.maps["timers"].lookup_bytes((1).to_bytes(4, "little"))),
                "hash": elem(obj.maps["by_id"].lookup_bytes((42).to_bytes(8, "little")))}


def test_vm(obj_path):
    f = facts(obj_path, "vm")
    assert f["retval"] == 0
    assert f["rets"] == [-errno.EINVAL, -errno.EINVAL, 0, -errno.EBUSY, -errno.EINVAL, 0,
                         -errno.EINVAL, 0, 1, 0]
    # fired once on element 0 (a callback cannot cancel its own timer), never on 1
    assert f["e0"] == (1, 100, bytes(16)) and f["cancel_self"] == -errno.EDEADLK
    assert f["e1"] == (0, 0, bytes(16))
    assert f["hash"] == (10, 42, bytes(16))


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")
