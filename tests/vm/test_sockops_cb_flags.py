"""bpf_sock_ops_cb_flags_set: known callback flags land in the context's
bpf_sock_ops_cb_flags, unknown bits come back, a context that is not a full
socket gets -EINVAL (found by tools/parity_sweep.py: cilium/ebpf's tcprtt_sockops
example was refused by the vm)."""

from __future__ import annotations

import errno
import struct
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
SOCK_OPS_SIZE = 224  # sizeof(struct bpf_sock_ops)


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "sockops_cb_flags.c")


def ctx(fullsock: int, flags: int = 0) -> bytes:
    b = bytearray(SOCK_OPS_SIZE)
    struct.pack_into("<I", b, 72, fullsock)
    struct.pack_into("<I", b, 84, flags)
    return bytes(b)


@pytest.mark.parametrize(("want", "fullsock", "ret", "after"), [
    (0x08, 1, 0, 0x08),                    # BPF_SOCK_OPS_RTT_CB_FLAG
    (0x7F, 1, 0, 0x7F),                    # every flag the kernel knows
    (0x184, 1, 0x180, 0x04),               # unknown bits come back, known ones kept
    (-1, 1, -0x80, 0x7F),                  # an int: the unknown bits are negative
    (0x08, 0, -errno.EINVAL, 0x02),        # a request sock: nothing changes
])
def test_vm(obj_path, want, fullsock, ret, after):
    with ebpf.load(obj_path, backend="vm") as obj:
        obj.variables["want"].value = want
        r = obj.programs["ask_callbacks"].test_run(ctx=ctx(fullsock, 0x02))
        assert r.retval == 1
        assert obj.variables["ret"].value == ret
        assert obj.variables["flags_after"].value == after


@pytest.mark.kernel
def test_kernel_loads_the_same_object(obj_path):
    with ebpf.load(obj_path, backend="kernel") as obj:
        assert "ask_callbacks" in obj.programs
