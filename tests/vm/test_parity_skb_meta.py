"""tc helpers about the skb rather than its bytes (cgroup ids, classids, checksum
level, packet type, timestamps, peer/neighbour redirects): the vm answers as the
kernel does for a test-run skb (the same object on both backends)."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
#: an IPv4 frame (bpf_skb_set_tstamp takes IP packets only) and a non-IP one
IPV4 = bytes(12) + b"\x08\x00" + bytes([0x45, 0, 0, 50]) + bytes(16) + bytes(range(30))
OTHER = bytes(64)


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_skb_meta.c")


def facts(path, backend: str) -> list:
    out = []
    with ebpf.load(path, backend=backend) as obj:
        v = obj.variables
        for frame in (OTHER, IPV4):
            for level in (0, 1):
                v["level_in"].value = level
                r = obj.programs["meta"].test_run(frame, ctx=bytes(192))
                out.append((r.retval, r.ctx, list(v["r"].value), list(v["ids"].value),
                            v["netns_cookie"].value))
        r = obj.programs["neigh"].test_run(IPV4)
        out.append((r.retval, v["r"].value[0]))
    return out


def test_vm(obj_path):
    f = facts(obj_path, "vm")
    retval, _, r, ids, cookie = f[0]
    with socket.socket() as s:  # the namespace's cookie, as user space reads it
        assert cookie == int.from_bytes(s.getsockopt(socket.SOL_SOCKET, 71, 8), "little")
    assert retval == 7 and r[:5] == [0, 0, 0, 0, -524]
    # checksum level: not verified, verified at 0, at 1, back to 0, reset, bad level
    assert r[5:14] == [-errno.EACCES, 0, 0, 0, 1, 0, 0, -errno.EACCES, -errno.EINVAL]
    assert r[14:18] == [0, 0, 3, -errno.EINVAL]
    assert r[18:22] == [-errno.EOPNOTSUPP, 0, -errno.EOPNOTSUPP, -errno.EOPNOTSUPP]
    assert r[22:24] == [2, 2] and ids[0] == ids[4] and ids[3] == 0
    _, ctx, r, _, _ = f[2]
    assert r[18:22] == [0, 12345 + 1_000_000, -errno.EINVAL, -errno.EINVAL]
    assert int.from_bytes(ctx[152:160], "little") == 12345   # tstamp goes out
    assert f[-1] == (7, 2)


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert facts(obj_path, "kernel") == facts(obj_path, "vm")
