"""Kernel vs vm on checksum helpers and XDP metadata as real tools use them
(progs/nat_meta.c): NAT in tc and XDP, TTL decrement, metadata set, moved, shrunk
and read. Return values, output packets and contexts, and every helper's return
code must be identical; the rewritten packets must also carry valid checksums."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from .packets import ipv6
from .test_kernel_differential import assert_same, on_cpu0, run_both  # noqa: F401

PROGS = Path(__file__).parent / "progs"
pytestmark = [pytest.mark.kernel, pytest.mark.usefixtures("on_cpu0")]

SRC, DST = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
NEW = bytes([192, 168, 10, 1])


def fold(s: int) -> int:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    return ~fold(sum(struct.unpack(f">{len(data) // 2}H", data))) & 0xFFFF


def frame(proto: int, payload: bytes = b"hello, checksums", ttl: int = 64,
          zero_udp_csum: bool = False, options: bytes = b"") -> bytes:
    if proto == 6:
        l4 = struct.pack(">HHIIBBHHH", 40000, 443, 1, 0, 0x50, 0x18, 512, 0, 0) + payload
        coff = 16
    elif proto == 17:
        l4 = struct.pack(">HHHH", 40000, 53, 8 + len(payload), 0) + payload
        coff = 6
    else:
        l4 = bytes([8, 0, 0, 0, 0, 1, 0, 1]) + payload
        coff = 2
    if proto in (6, 17):
        pseudo = SRC + DST + struct.pack(">BBH", 0, proto, len(l4))
        c = csum(pseudo + l4)
        if not (proto == 17 and zero_udp_csum):
            l4 = l4[:coff] + struct.pack(">H", c or 0xFFFF) + l4[coff + 2:]
    else:
        l4 = l4[:coff] + struct.pack(">H", csum(l4)) + l4[coff + 2:]
    ihl = 5 + len(options) // 4
    ip = struct.pack(">BBHHHBBH", 0x40 | ihl, 0, 4 * ihl + len(l4), 1, 0, ttl, proto, 0) + \
        SRC + DST + options
    ip = ip[:10] + struct.pack(">H", csum(ip)) + ip[12:]
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + l4


FRAMES = [frame(6), frame(17), frame(17, zero_udp_csum=True), frame(1), frame(6, ttl=1),
          frame(17, payload=b"odd"), frame(6, options=b"\x01\x01\x01\x00"), ipv6(),
          frame(6)[:34], frame(17)[:30], bytes(14)]


def checksums_valid(pkt: bytes) -> bool:
    """IPv4 header and TCP/UDP checksums of an Ethernet frame all verify."""
    ip = pkt[14:]
    ihl = (ip[0] & 15) * 4
    if csum(ip[:ihl]) != 0:
        return False
    proto, total = ip[9], struct.unpack(">H", ip[2:4])[0]
    l4 = ip[ihl:total]
    if proto == 17 and l4[6:8] == b"\0\0":
        return True  # no UDP checksum
    if proto in (6, 17):
        return csum(ip[12:20] + struct.pack(">BBH", 0, proto, len(l4)) + l4) == 0
    return csum(l4) == 0


@pytest.fixture(scope="module")
def path(bpf_compile):
    return bpf_compile(PROGS / "nat_meta.c")


@pytest.mark.parametrize("prog", ["snat", "dnat", "ttl_dec", "xdp_dnat", "tc_meta"])
def test_nat_and_ttl_rewrites(path, prog):
    inputs = [(f, None) for f in FRAMES]
    kernel, vm = run_both(path, prog, inputs)
    assert_same(kernel, vm, inputs)
    # the rewrites are real: whole, well-formed IPv4 frames come out changed and valid
    for (f, _), (out, _maps) in zip(inputs, vm[0], strict=True):
        if out[0] == "error" or len(f) < 54 or f[12:15] != b"\x08\x00\x45" or prog == "tc_meta":
            continue
        data = out[1]
        if prog == "ttl_dec" and f[22] <= 1:
            assert out[0] == 2  # TC_ACT_SHOT
            continue
        assert data != f and checksums_valid(data), (prog, f.hex(), data.hex())
        if prog in ("snat", "dnat", "xdp_dnat"):
            assert NEW in data[26:34]


def test_checksum_helpers_on_udp_without_checksum_keep_it_zero(path):
    f = frame(17, zero_udp_csum=True)
    kernel, vm = run_both(path, "snat", [(f, None)])
    assert_same(kernel, vm, [(f, None)])
    out = vm[0][0][0][1]
    assert out[40:42] == b"\0\0" and NEW in out[26:30]


def _xdp_ctx(meta: int, n: int) -> bytes:
    return struct.pack("<6I", meta, meta + n, 0, 0, 0, 0)


def test_metadata_set_moved_and_shrunk(path):
    f = frame(17)
    inputs = [(f, None), (f, _xdp_ctx(0, len(f))), (f[:20], None), (bytes(14), None)]
    kernel, vm = run_both(path, "xdp_meta_set", inputs)
    assert_same(kernel, vm, inputs)
    (ret, data, ctx), maps = vm[0][1]   # the run given a context
    assert ret == 2  # XDP_PASS
    rets = dict(maps["rets"])
    assert [rets[repr(k)] for k in (19, 20, 21, 22, 24, 23)] == \
        ["0", "0", repr(-13), "0", repr(-22), "0"]   # -EACCES, -EINVAL
    # the output starts at data_meta: 4 bytes of metadata left (tag, len), then the
    # frame under its new outer Ethernet header
    meta_len = struct.unpack_from("<I", ctx, 0)[0]
    assert meta_len == 4 and data[:4] == struct.pack("<HH", 8, len(f))
    assert data[4:18] == f[:14] and data[18:] == f


@pytest.mark.parametrize("meta", [0, 4, 8, 32])
def test_metadata_read_then_decapsulated(path, meta):
    f = frame(6)
    prefix = bytes(range(0xA0, 0xA0 + meta))
    inputs = [(prefix + f, _xdp_ctx(meta, len(f))), (prefix + f[:16], _xdp_ctx(meta, 16))]
    kernel, vm = run_both(path, "xdp_meta_read", inputs)
    assert_same(kernel, vm, inputs)


@pytest.mark.parametrize("meta", [2, 36, 64, 216, 220, 252, 256])
def test_metadata_lengths_given_with_the_frame(path, meta):
    """Multiples of 4, up to what the headroom holds past an xdp_frame (216 bytes;
    skb_shared_info.meta_len is a u8 since Linux 6.6, 32 bytes before): longer or
    unaligned is EINVAL on both."""
    f = frame(6)
    inputs = [(bytes(meta) + f, _xdp_ctx(meta, len(f)))]
    kernel, vm = run_both(path, "xdp_meta_read", inputs)
    assert_same(kernel, vm, inputs)
