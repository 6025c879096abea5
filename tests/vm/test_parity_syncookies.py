"""bpf_tcp_raw_gen_syncookie_ipv4/ipv6 and bpf_tcp_raw_check_syncookie_ipv4/ipv6,
kernel against vm on the same XDP object (test runs on both): the header-length
checks, the MSS each SYN's cookie stands for, and whether an ACK carrying the
cookie (or a wrong one) checks. The cookies themselves differ, as two kernels'
do: each side hashes with its own secret keys."""

from __future__ import annotations

import errno
import struct
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"
SRC4, DST4 = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
SRC6, DST6 = bytes(15) + b"\x01", bytes(15) + b"\x02"


def frame(v6: bool, flags: int, seq: int, ack: int = 0, options: bytes = b"",
          sport: int = 40000) -> bytes:
    doff = (20 + len(options)) // 4
    tcp = struct.pack(">HHIIBBHHH", sport, 443, seq, ack, doff << 4, flags, 65535, 0, 0) + options
    tcp += bytes(64)  # the program loads 64 header bytes whatever the header's length
    if v6:
        ip = struct.pack(">IHBB", 6 << 28, len(tcp), 6, 64) + SRC6 + DST6
        return b"\x02" * 6 + b"\x04" * 6 + b"\x86\xdd" + ip + tcp
    ip = struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0) + SRC4 + DST4
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp


def mss(v: int) -> bytes:
    return bytes([2, 4]) + v.to_bytes(2, "big")


SYN, ACK = 0x02, 0x10
OPTIONS = [b"", mss(1460), mss(1400), mss(500), mss(9000), bytes([1, 1]) + mss(1300) + bytes(2),
           bytes([3, 3, 7, 0]) + mss(1440), bytes([0, 0, 0, 0]) + mss(1460)]


def outcomes(obj_path, backend: str) -> list:
    out = []
    with ebpf.load(obj_path, backend=backend) as obj:
        prog, v = obj.programs["cookies"], obj.variables

        def gen(pkt, th_len=0):
            v["th_len_in"].value = th_len
            v["gen_ret"].value = 0
            assert prog.test_run(pkt).retval == 2
            return v["gen_ret"].value

        def check(pkt):
            v["check_ret"].value = 1
            assert prog.test_run(pkt).retval == 2
            return v["check_ret"].value

        for v6 in (False, True):
            for opts in OPTIONS:
                r = gen(frame(v6, SYN, 1000, options=opts))
                if r < 0:
                    out.append(("gen", v6, opts, r))
                    continue
                cookie = r & 0xFFFF_FFFF
                out.append(("mss", v6, opts, r >> 32))
                out.append(("good ack", v6, opts, check(frame(v6, ACK, 1001, cookie + 1))))
                out.append(("wrong cookie", v6, check(frame(v6, ACK, 1001,
                                                            (cookie ^ 1 << 31) + 1))))
                # one more is the next MSS index: good while there is one
                out.append(("next index", v6, opts, check(frame(v6, ACK, 1001, cookie + 2))))
                out.append(("wrong seq", v6, check(frame(v6, ACK, 5001, cookie + 1))))
                out.append(("other port", v6, check(frame(v6, ACK, 1001, cookie + 1, sport=40001))))
            syn6 = frame(v6, SYN, 7, options=mss(1460) + bytes(4))    # doff 7
            for th_len in (28, 24, 20, 32, 16):
                r = gen(syn6, th_len)
                out.append(("th_len", v6, th_len, r if r < 0 else r >> 32))
    return out


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_syncookies.c")


def test_vm(obj_path):
    res = outcomes(obj_path, "vm")
    mss4 = [r[3] for r in res if r[0] == "mss" and not r[1]]
    mss6 = [r[3] for r in res if r[0] == "mss" and r[1]]
    # no option, 1460, 1400, 500, 9000, after NOPs, after an option list's end (none)
    assert mss4 == [536, 1460, 1300, 536, 1460, 1300, 536, 536]
    assert mss6 == [1220, 1440, 1220, 1220, 8940, 1220, 1220, 1220]
    assert {r[-1] for r in res if r[0] == "good ack"} == {0}
    assert {r[-1] for r in res if r[0] in ("wrong cookie", "wrong seq", "other port")} == {
        -errno.EACCES}
    assert [r[3] for r in res if r[0] == "next index" and not r[1]] == [
        0, -errno.EACCES, 0, 0, -errno.EACCES, 0, 0, 0]
    assert [r[3] for r in res if r[0] == "th_len" and not r[1]] == [
        1460, -errno.EINVAL, -errno.EINVAL, -errno.EINVAL, -errno.EINVAL]


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    assert outcomes(obj_path, "kernel") == outcomes(obj_path, "vm")
