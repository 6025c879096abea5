"""bpf_sk_assign from tc, kernel against vm on the same object (test runs on both,
in the test's own netns, on a listener of its own): unknown flags, then a packet
that is not on the tc ingress path (a test run's, a runtime packet)."""

from __future__ import annotations

import errno
import socket
import struct
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
LO = bytes([127, 0, 0, 1])


def frame(dport: int) -> bytes:
    tcp = struct.pack(">HHIIBBHHH", 40000, dport, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    ip = struct.pack(">BBHHHBBH", 0x45, 0, 40, 0, 0, 64, 6, 0) + LO + LO
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp


def results(obj_path, backend: str) -> list:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    out = []
    try:
        with ebpf.load(obj_path, backend=backend) as obj:
            v = obj.variables
            for flags in (0, 1):
                v["flags_in"].value, v["ret"].value = flags, 1
                assert obj.programs["steer"].test_run(frame(listener.getsockname()[1])).retval == 0
                out.append((v["found"].value, v["ret"].value))
    finally:
        listener.close()
    return out


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_sk_assign.c")


def test_vm(obj_path, own_netns):
    assert results(obj_path, "vm") == [(1, -errno.EOPNOTSUPP), (1, -errno.EINVAL)]


@pytest.mark.kernel
def test_same_as_kernel(obj_path, own_netns):
    assert results(obj_path, "kernel") == results(obj_path, "vm")
