"""REUSEPORT_SOCKARRAY and bpf_sk_select_reuseport, kernel against vm on the same
object. The kernel cannot test-run sk_reuseport programs: its side attaches the
program to a UDP reuseport group in the test's own netns and sends datagrams
whose first byte names a slot; the vm runs the program on a ReuseportRequest
with the same datagram. Compared: the map's answers to user space, each call's
result, the slot of the socket that got the datagram (or none, dropped), and
what the context showed (len, ip_protocol)."""

from __future__ import annotations

import errno
import socket
import struct
from pathlib import Path

import pytest

import ebpf
from ebpf.vm import ReuseportRequest

PROGS = Path(__file__).parent / "progs"
SELECTORS = (0, 1, 2, 3, 4, 5, 0xFF)


def udp(port: int, payload: bytes) -> bytes:
    return struct.pack(">HHHH", 40000, port, 8 + len(payload), 0) + payload


def reuse_socket(kind: int, port: int = 0, listen: bool = False) -> socket.socket:
    s = socket.socket(socket.AF_INET, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    if listen:
        s.listen()
    return s


def outcome(fn):
    try:
        fn()
    except ebpf.Error as e:
        return errno.errorcode.get(e.errno, e.errno)
    return None


def run(obj_path, backend: str) -> dict:
    group = [reuse_socket(socket.SOCK_DGRAM)]
    port = group[0].getsockname()[1]
    group += [reuse_socket(socket.SOCK_DGRAM, port) for _ in range(2)]
    other_port = reuse_socket(socket.SOCK_DGRAM)           # slot 3: another group
    tcp = reuse_socket(socket.SOCK_STREAM, port, listen=True)  # slot 4: another protocol
    plain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)   # no SO_REUSEPORT
    plain.bind(("127.0.0.1", 0))
    everyone = [*group, other_port, tcp, plain]
    out: dict = {}
    try:
        with ebpf.load(obj_path, backend=backend) as obj:
            m = obj.maps["socks"]
            fd = lambda s: s.fileno().to_bytes(8, "little")  # noqa: E731
            for i, s in enumerate([*group, other_port, tcp]):
                out[f"store{i}"] = outcome(lambda i=i, s=s: m.update_bytes(i.to_bytes(4, "little"),
                                                                           fd(s)))
            out["store_plain"] = outcome(lambda: m.update_bytes((6).to_bytes(4, "little"),
                                                                fd(plain)))
            out["store_past_end"] = outcome(lambda: m.update_bytes((8).to_bytes(4, "little"),
                                                                   fd(group[0])))
            out["store_noexist"] = outcome(lambda: m.update_bytes(bytes(4), fd(group[1]), 1))
            out["lookup0"] = m.lookup_bytes(bytes(4)) == group[0].getsockopt(1, 57, 8)
            out["delete_empty"] = outcome(lambda: m.delete_bytes((7).to_bytes(4, "little")))
            prog = obj.programs["pick"]
            got = {}
            if backend == "kernel":
                with prog.attach(sock=group[0]):
                    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    for sel in SELECTORS:
                        sender.sendto(bytes([sel]) + b"payload", ("127.0.0.1", port))
                        got[sel] = None
                        for i, s in enumerate(group):
                            s.settimeout(0.2 if i == 0 else 0.01)
                            try:
                                s.recv(100)
                                got[sel] = i
                                break
                            except TimeoutError:
                                continue
                    sender.close()
            else:
                cookies = {s.getsockopt(1, 57, 8): i for i, s in enumerate(group)}
                for sel in SELECTORS:
                    r = prog.test_run(ctx=ReuseportRequest(group[0],
                                                          udp(port, bytes([sel]) + b"payload")))
                    chosen = r.redirect.socket.to_bytes(8, "little") if r.redirect else None
                    got[sel] = None if r.retval == 0 else cookies.get(chosen, "hash")
            v = obj.variables
            rets, lens, protos = v["rets"].value, v["lens"].value, v["protos"].value
            for sel in SELECTORS:
                ok = sel < 3
                out[f"sel{sel}"] = (rets[sel], lens[sel], protos[sel],
                                    got[sel] if ok or got[sel] is None else "hash")
    finally:
        for s in everyone:
            s.close()
    return out


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_reuseport.c")


def test_vm(obj_path, own_netns):
    out = run(obj_path, "vm")
    assert [out[f"store{i}"] for i in range(5)] == [None] * 5
    assert (out["store_plain"], out["store_past_end"], out["store_noexist"]) == (
        "EINVAL", "E2BIG", "EEXIST")
    assert out["lookup0"] and out["delete_empty"] is None
    assert [out[f"sel{s}"][0] for s in (0, 1, 2)] == [0, 0, 0]
    assert [out[f"sel{s}"][3] for s in (0, 1, 2)] == [0, 1, 2]
    assert out["sel3"][0] == -errno.EBADFD and out["sel4"][0] == -errno.EPROTOTYPE
    assert out["sel5"][0] == -errno.ENOENT
    assert out["sel255"][3] is None and out["sel0"][1:3] == (16, 17)


@pytest.mark.kernel
def test_same_as_kernel(obj_path, own_netns):
    assert run(obj_path, "kernel") == run(obj_path, "vm")
