"""bpf_skb_set_tunnel_key/_opt and the getters reading them back: the vm keeps
the metadata a program attaches as the kernel does (the same object on both
backends; the kernel is the reference)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
PACKET = bytes(range(64))
#: BPF_F_ZERO_CSUM_TX | BPF_F_DONT_FRAGMENT | BPF_F_SEQ_NUMBER, BPF_F_NO_TUNNEL_KEY
FLAG_SETS = (0, 2 | 4 | 8, 16)


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_tunnel.c")


def facts(path, backend: str) -> list:
    out = []
    with ebpf.load(path, backend=backend) as obj:
        v = obj.variables
        for flags in FLAG_SETS:
            v["flags_in"].value = flags
            obj.programs["encap"].test_run(PACKET)
            out.append({name: bytes(v[name].raw) for name in
                        ("set_ret", "get_ret", "opt_ret", "got4", "got4f", "got6", "got_short",
                         "opts_out", "opts_small")})
        obj.programs["encap6"].test_run(PACKET)
        out.append({name: bytes(v[name].raw) for name in ("set_ret", "get_ret", "got6", "got4")})
    return out


def longs(raw: bytes) -> list[int]:
    return [int.from_bytes(raw[i:i + 8], "little", signed=True) for i in range(0, len(raw), 8)]


def test_vm(obj_path):
    f = facts(obj_path, "vm")
    first = f[0]
    assert longs(first["set_ret"])[:4] == [-errno.EINVAL] * 3 + [0]
    # v4 key read back; a v6 read of it is a protocol mismatch; short layouts work
    assert longs(first["get_ret"]) == [0, 0, -errno.EPROTO, 0, -errno.EINVAL, 12, 0, 9]
    assert longs(first["opt_ret"]) == [-errno.EINVAL, -errno.ENOENT, -errno.EINVAL, 0,
                                       -errno.ENOMEM]
    got4 = first["got4"]
    assert int.from_bytes(got4[0:4], "little") == 0x123456 and got4[20:22] == bytes([3, 64])
    # seen from the receiving side: remote is the source (the local address set)
    assert int.from_bytes(got4[4:8], "little") == 0xC0A80102
    assert int.from_bytes(got4[28:32], "little") == 0x0A000001
    assert first["got6"] == bytes(44) and first["opts_small"] == bytes(4)
    assert first["opts_out"] == bytes(range(1, 13)) + bytes(4)
    v6 = f[-1]
    assert longs(v6["set_ret"])[4:6] == [0, -errno.EPROTO]
    assert int.from_bytes(v6["got6"][24:28], "little") == 0x12345  # the flow label's 20 bits


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")


def clone_facts(path, backend: str) -> tuple:
    with ebpf.load(path, backend=backend) as obj:
        r = obj.programs["clone"].test_run(PACKET)
        return r.retval, r.data, list(obj.variables["clone_ret"].value)


def test_clone_redirect_vm(obj_path):
    assert clone_facts(obj_path, "vm") == (64, PACKET, [0, 0, -errno.EINVAL, -errno.EINVAL])


@pytest.mark.kernel
def test_clone_redirect_same_as_kernel(obj_path, own_netns):
    # the copies go out of (and into) this test's own loopback
    assert clone_facts(obj_path, "kernel") == clone_facts(obj_path, "vm")
