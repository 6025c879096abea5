"""SK_LOOKUP programs: bpf_map_lookup_elem on a SOCKMAP (a referenced socket) and
bpf_sk_assign, kernel against vm on the same object with BPF_PROG_TEST_RUN on
both (the kernel test-runs sk_lookup programs), in the test's own netns, on
sockets of its own. Compared: the run's return value and error, the chosen
socket (by the cookie in ctx out), each bpf_sk_assign result and what the program
read from the context."""

from __future__ import annotations

import errno
import socket
import struct
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
TCP, UDP = socket.IPPROTO_TCP, socket.IPPROTO_UDP
F_REPLACE, F_NO_REUSEPORT = 1, 2


def lookup_ctx(family: int = socket.AF_INET, proto: int = TCP, lport: int = 8080,
               rport: int = 40000, sk: int = 0) -> bytes:
    b = bytearray(72)
    struct.pack_into("<QII", b, 0, sk, family, proto)
    if family == socket.AF_INET:
        b[16:20], b[40:44] = bytes([192, 0, 2, 1]), bytes([127, 0, 0, 1])
    b[36:38] = rport.to_bytes(2, "big")
    struct.pack_into("<I", b, 60, lport)
    return bytes(b)


CASES = {
    "listener": ({"key_in": 0}, lookup_ctx()),
    "listener dropped": ({"key_in": 0, "pass_in": 0}, lookup_ctx()),
    "udp for tcp": ({"key_in": 1}, lookup_ctx()),
    "udp": ({"key_in": 1}, lookup_ctx(proto=UDP)),
    "established": ({"key_in": 2}, lookup_ctx()),
    "reuseport": ({"key_in": 3}, lookup_ctx()),
    "reuseport no_reuseport": ({"key_in": 3, "flags_in": F_NO_REUSEPORT}, lookup_ctx()),
    "bad flags": ({"key_in": 0, "flags_in": 4}, lookup_ctx()),
    "twice": ({"key_in": 0, "again": 1}, lookup_ctx()),
    "replace": ({"key_in": 0, "again": 1, "again_flags": F_REPLACE}, lookup_ctx()),
    "ipv6 lookup": ({"key_in": 0}, lookup_ctx(family=socket.AF_INET6)),
    "empty slot": ({"key_in": 3 + 1}, lookup_ctx()),
    "ctx sk set": ({}, lookup_ctx(sk=1)),
    "ctx port too big": ({}, lookup_ctx(lport=70000)),
    "ctx family": ({}, lookup_ctx(family=1)),
}


def results(obj_path, backend: str) -> dict:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    reuse = socket.socket()
    reuse.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    reuse.bind(("127.0.0.1", 0))
    reuse.listen()
    socks = {"listener": listener, "udp": udp, "established": server, "reuseport": reuse}
    cookies = {int.from_bytes(s.getsockopt(1, 57, 8), "little"): n for n, s in socks.items()}
    out: dict = {}
    try:
        with ebpf.load(obj_path, backend=backend) as obj:
            m = obj.maps["redir"]
            for i, s in enumerate(socks.values()):
                m.update_bytes(i.to_bytes(4, "little"), s.fileno().to_bytes(8, "little"))
            v = obj.variables
            for name, (knobs, ctx) in CASES.items():
                base = {"key_in": 0, "pass_in": 1, "again": 0, "flags_in": 0,
                        "again_flags": 0, "ret1": 1, "ret2": 1, "found": 0, "had_sk": 0}
                for k, val in {**base, **knobs}.items():
                    v[k].value = val
                try:
                    r = obj.programs["steer"].test_run(ctx=ctx)
                except ebpf.NotSupportedError:
                    out[name] = ("error", "not supported")
                    continue
                except ebpf.Error as e:
                    out[name] = ("error", errno.errorcode.get(e.errno, e.errno))
                    continue
                cookie = int.from_bytes((r.ctx or bytes(8))[:8], "little")
                out[name] = (r.retval, cookies.get(cookie, cookie),
                             *(v[k].value for k in ("found", "ret1", "ret2", "had_sk",
                                                    "seen_port", "seen_family", "seen_proto")))
    finally:
        for s in (*socks.values(), client):
            s.close()
    return out


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_sk_lookup_assign.c")


def test_vm(obj_path, own_netns):
    r = results(obj_path, "vm")
    assert r["listener"][:6] == (1, "listener", 1, 0, 1, 1)
    assert r["listener dropped"][:2] == (0, 0)
    assert r["udp for tcp"][3] == -errno.EPROTOTYPE and r["udp"][:4] == (1, "udp", 1, 0)
    assert r["established"][3] == -errno.ESOCKTNOSUPPORT
    assert r["reuseport"] == ("error", "not supported")   # the kernel's EOPNOTSUPP
    assert r["reuseport no_reuseport"][:2] == (1, "reuseport")
    assert r["bad flags"][3] == -errno.EINVAL
    assert r["twice"][3:5] == (0, -errno.EEXIST) and r["replace"][3:5] == (0, 0)
    assert r["ipv6 lookup"][3] == -errno.EAFNOSUPPORT
    assert r["empty slot"][2] == 0
    assert (r["ctx sk set"], r["ctx port too big"], r["ctx family"]) == (
        ("error", "EINVAL"), ("error", "ERANGE"), ("error", "EAFNOSUPPORT"))


@pytest.mark.kernel
def test_same_as_kernel(obj_path, own_netns):
    assert results(obj_path, "kernel") == results(obj_path, "vm")
