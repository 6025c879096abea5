"""bpf_reserve_hdr_opt, bpf_store_hdr_opt and bpf_load_hdr_opt, kernel against vm on
the same object. The kernel cannot test-run sock_ops programs: its side attaches
the program to a cgroup of the test's own, where a process (in the test's own
netns) connects, sends and answers, so the kernel calls the program while it
builds and parses the packets; the vm runs the same callbacks on
SockOpsRequests with the packets' TCP headers (the kernel's options as Linux
writes them, ours where the program put it). Compared: every helper result and
the option bytes the program found."""

from __future__ import annotations

import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import ebpf
from ebpf.vm import SockOpsRequest

PROGS = Path(__file__).parent / "progs"
CONNECT, ACTIVE, LISTEN, PARSE, LEN, WRITE = 3, 4, 11, 13, 14, 15
OURS = bytes([253, 6, 0xEB, 0x9F, 0x12, 0x34])
#: the options Linux puts on a SYN / SYN-ACK: MSS, SACK permitted + timestamps, NOP + scale
SYN_OPTIONS = bytes([2, 4, 0xFF, 0xD7, 4, 2, 8, 10]) + bytes(8) + bytes([1, 3, 3, 7])
FACTS = ("lens", "writes", "parses", "est", "found_write", "found_parse", "parse_flags")

CHILD = """
import os, socket, sys
with open(sys.argv[1] + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
l = socket.socket()
l.bind(("127.0.0.1", 0))
l.listen()
c = socket.create_connection(l.getsockname())
s, _ = l.accept()
c.sendall(b"hello")
s.recv(10)
s.sendall(b"world")
c.recv(10)
"""


def tcp(flags: int, options: bytes) -> bytes:
    options += bytes(-len(options) % 4)
    return struct.pack(">HHIIBBHHH", 40000, 443, 1, 0, (20 + len(options)) // 4 << 4, flags,
                       65535, 0, 0) + options


def recorded(obj) -> dict:
    out = {n: obj.variables[n].value for n in FACTS}
    for n in ("found_write", "found_parse"):
        out[n] = bytes(out[n])
    return out


def vm_side(obj_path) -> dict:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    try:
        with ebpf.load(obj_path, backend="vm") as obj:
            prog = obj.programs["hdr"]
            for req in (
                SockOpsRequest(client, LEN, skb=tcp(0x02, b""), remaining_opt_len=40 - 20),
                SockOpsRequest(client, WRITE, skb=tcp(0x02, b"")[:20] + SYN_OPTIONS,
                               remaining_opt_len=6),
                SockOpsRequest(client, ACTIVE, skb=tcp(0x12, SYN_OPTIONS)),
                SockOpsRequest(server, PARSE,
                               skb=tcp(0x18, bytes([1, 1, 8, 10]) + bytes(8) + OURS)),
            ):
                assert prog.test_run(ctx=req).retval == 1
            return recorded(obj)
    finally:
        for s in (client, server, listener):
            s.close()


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_hdr_opt.c")


def test_vm(obj_path, own_netns):
    f = vm_side(obj_path)
    assert f["lens"] == [-22, -22, -28, 0, -1, -1]           # EINVAL, EINVAL, ENOSPC, ok, EPERM
    assert f["writes"] == [-22, -22, 0, -28, 6, -1]          # stored, found back
    assert f["found_write"] == f["found_parse"] == OURS + bytes(2)
    assert f["parses"] == [6, -42, -28, -22, -22, -2, -22, -1]  # ENOMSG, ENOSPC, ..., ENOENT
    assert f["est"] == [-1, -1, 4, -42] and f["parse_flags"] == 0x18


@pytest.mark.kernel
def test_same_as_kernel(obj_path, own_netns, own_cgroup):
    with ebpf.load(obj_path, backend="kernel") as obj:
        with obj.programs["hdr"].attach(cgroup=str(own_cgroup)):
            subprocess.run([sys.executable, "-c", CHILD, str(own_cgroup)], check=True,
                           timeout=30)
        kernel = recorded(obj)
    assert kernel == vm_side(obj_path)
