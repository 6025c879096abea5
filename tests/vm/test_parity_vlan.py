"""bpf_skb_vlan_push/pop: tags out of band and in the frame, the protocol and the
__sk_buff VLAN fields after each step (the same object on both backends; the
kernel is the reference), on plain and already tagged frames."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
MACS = bytes(range(1, 13))
IPV4 = MACS + b"\x08\x00" + bytes([0x45, 0, 0, 40]) + bytes(16) + bytes(range(20))
TAGGED = MACS + b"\x81\x00\x00\x07" + b"\x08\x00" + bytes([0x45, 0, 0, 40]) + bytes(36)
QINQ = MACS + b"\x88\xa8\x00\x09\x81\x00\x00\x07\x08\x00" + bytes([0x45, 0, 0, 40]) + bytes(36)


def plans(n: int = 12, seed: int = 3) -> list[int]:
    rnd = random.Random(seed)
    fixed = [0b01, 0b0101, 0b1011, 0b11_0101, 0b11_1101_10, 0b11_11_11]
    return fixed + [rnd.randrange(1 << 12) for _ in range(n)]


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_vlan.c")


def facts(path, backend: str) -> list:
    out = []
    with ebpf.load(path, backend=backend) as obj:
        v = obj.variables
        for frame in (IPV4, TAGGED, QINQ):
            for ops in plans():
                v["ops"].value = ops
                r = obj.programs["tag"].test_run(frame)
                out.append((r.retval, r.data, list(v["rets"].value),
                            [list(s) for s in v["seen"].value]))
    return out


def test_vm(obj_path):
    f = facts(obj_path, "vm")
    # one push: out of band only, the frame unchanged
    retval, data, _, seen = f[0]
    assert data == IPV4 and seen[0] == [1, 100, 0x0081, 0x0008]
    # two pushes: the first tag moves into the frame, after the MACs
    retval, data, _, seen = f[1]
    assert data == MACS + b"\x81\x00\x00\x64" + IPV4[12:] and retval == len(IPV4) + 4
    assert seen[1] == [1, 101, 0x0081, 0x0081]
    # popping a tagged frame drops its tag; a QinQ frame's inner tag goes out of band
    assert f[len(plans()) + 2][3][0] == [0, 0, 0, 0x0008]     # ops 0b1011: pop, push
    assert f[2 * len(plans()) + 2][3][0] == [1, 7, 0x0081, 0x0008]


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")
