"""XDP multi-buffer test runs: frames longer than the linear part (or past
xdp_md.data_end) carry fragments; the vm builds them, and its helpers see them, as
the kernel does (the same object on both backends; the kernel is the reference)."""

from __future__ import annotations

import errno
import random
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
LINEAR = 4096 - 256 - 320
#: (data size, tail delta, xdp_md.data_end or None)
CASES = [(100, 0, None), (LINEAR, 8, None), (LINEAR + 1, 0, None), (9000, 100, None),
         (9000, -5000, None), (9000, -5480, None), (9000, -8980, None), (9000, 5000, None),
         (LINEAR + 17 * 4096, -1, None), (5000, 0, 100), (5000, 10, 3000), (300, -20, None)]


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_xdp_frags.c")


def run_case(obj, data: bytes, delta: int, data_end: int | None) -> tuple:
    obj.variables["tail_delta"].value = delta
    ctx = None if data_end is None else bytes(4) + data_end.to_bytes(4, "little") + bytes(16)
    try:
        r = obj.programs["frags"].test_run(data, ctx=ctx)
    except ebpf.Error as e:
        return ("error", e.errno)
    v = obj.variables
    lin = obj.programs["linear_view"].test_run(data, ctx=ctx).retval
    return (r.retval, r.data, r.ctx, lin, v["blen"].value, v["blen_after"].value,
            v["r_load"].value, v["r_store"].value, v["r_far"].value, v["r_past"].value,
            v["r_tail"].value, bytes(v["got"].value))


def facts(path, backend: str, seed: int = 7) -> list:
    rnd = random.Random(seed)
    with ebpf.load(path, backend=backend) as obj:
        return [run_case(obj, rnd.randbytes(size), delta, end) for size, delta, end in
                [*CASES, (LINEAR + 17 * 4096 + 1, 0, None)]]


def test_vm(obj_path):
    out = facts(obj_path, "vm")
    small, exact, one_frag, jumbo = out[0], out[1], out[2], out[3]
    assert small[3] == small[4] == 100 and small[6:8] == (0, 0)
    # a full linear frame has no tailroom left to grow into
    assert exact[3:6] == (LINEAR, LINEAR, LINEAR) and exact[10] == -errno.EINVAL
    assert one_frag[3] == LINEAR and one_frag[4] == LINEAR + 1
    # loads past 64 KiB fault, past the end are refused; the straddling store lands
    assert jumbo[4:6] == (9000, 9100) and jumbo[8:11] == (-errno.EFAULT, -errno.EINVAL, 0)
    assert len(jumbo[1]) == 9100 and jumbo[1][-100:] == bytes(100)
    assert out[6][5] == 20 and len(out[6][1]) == 20     # trimmed into the linear part
    assert out[7][10] == -errno.EINVAL                   # more than the last page holds
    assert out[9][3] == 100 and out[9][2][4:8] == (100).to_bytes(4, "little")
    assert out[-1] == ("error", errno.ENOMEM)            # more than 17 fragments


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")
