"""bpf_tcp_gen_syncookie / bpf_tcp_check_syncookie on behalf of a listener found by
bpf_skc_lookup_tcp, kernel against vm on the same XDP object (test runs on both,
in the test's own netns, each with a listener of its own): the kernel's checks
(listener, net.ipv4.tcp_syncookies 0/1/2, TCP flags, header lengths), the MSS a
cookie stands for, and whether the ACK carrying it checks. Cookies differ (each
side its own secret) and are not compared."""

from __future__ import annotations

import errno
import socket
import struct
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
LO = bytes([127, 0, 0, 1])
SYN, ACK, RST = 0x02, 0x10, 0x04
SYSCTL = Path("/proc/sys/net/ipv4/tcp_syncookies")


def frame(dport: int, flags: int, seq: int, ack: int = 0, options: bytes = b"") -> bytes:
    doff = (20 + len(options)) // 4
    tcp = struct.pack(">HHIIBBHHH", 40000, dport, seq, ack, doff << 4, flags, 65535, 0, 0)
    tcp += options + bytes(64)
    ip = struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0) + LO + LO
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp


def outcomes(obj_path, backend: str) -> list:
    out: list = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    mss = bytes([2, 4]) + (1460).to_bytes(2, "big")
    try:
        with ebpf.load(obj_path, backend=backend) as obj:
            prog, v = obj.programs["proxy"], obj.variables

            def run(pkt, th_len=0, iph_len=0):
                v["th_len_in"].value, v["iph_len_in"].value = th_len, iph_len
                v["ret"].value, v["found"].value = -999, 0
                assert prog.test_run(pkt).retval == 2
                r = v["ret"].value
                return (v["found"].value, r if r <= 0 else ("mss", r >> 32))

            for mode in ("1", "0", "2"):
                SYSCTL.write_text(mode)
                syn = frame(port, SYN, 1000, options=mss)
                r = run(syn)
                out.append((mode, "gen", r))
                cookie = v["ret"].value & 0xFFFF_FFFF
                out.append((mode, "check", run(frame(port, ACK, 1001, cookie + 1))))
                if mode != "2":
                    continue
                out.append(("wrong cookie", run(frame(port, ACK, 1001, (cookie ^ 1 << 31) + 1))))
                out.append(("rst", run(frame(port, ACK | RST, 1001, cookie + 1))))
                out.append(("check th_len 16", run(frame(port, ACK, 1001, cookie + 1), 16)))
                out.append(("gen th_len", run(syn, 20)))
                out.append(("syn-ack", run(frame(port, SYN | ACK, 1000, options=mss))))
                out.append(("gen iph_len 16", run(syn, 0, 16)))
                out.append(("no listener", run(frame(port ^ 1, SYN, 1000, options=mss))))
    finally:
        listener.close()
        SYSCTL.write_text("1")
    return out


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_syncookie_sk.c")


def test_vm(obj_path, own_netns):
    got = dict((o[0] + o[1], o[2]) if len(o) == 3 else o for o in outcomes(obj_path, "vm"))
    e, n = -errno.EINVAL, -errno.ENOENT
    assert (got["1gen"], got["1check"]) == ((1, n), (1, n))     # no SYN flood: no cookie
    assert (got["0gen"], got["0check"]) == ((1, n), (1, e))     # cookies off
    assert (got["2gen"], got["2check"]) == ((1, ("mss", 1460)), (1, 0))
    assert got["wrong cookie"] == got["rst"] == got["syn-ack"] == (1, n)
    assert got["check th_len 16"] == got["gen th_len"] == got["gen iph_len 16"] == (1, e)
    assert got["no listener"] == (0, -999)


@pytest.mark.kernel
def test_same_as_kernel(obj_path, own_netns):
    assert outcomes(obj_path, "kernel") == outcomes(obj_path, "vm")
