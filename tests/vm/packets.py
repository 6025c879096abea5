"""Frames for packet-program tests."""

from __future__ import annotations

import struct


def ipv4(proto: int = 6, ttl: int = 64, payload: bytes = b"", dst_mac: bytes = b"\x02" * 6,
         src: bytes = b"\x0a\x00\x00\x01", dst: bytes = b"\x0a\x00\x00\x02",
         sport: int = 1234, dport: int = 80) -> bytes:
    l4 = struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload
    total = 20 + len(l4)
    ip = bytes([0x45, 0]) + struct.pack(">H", total) + bytes(4) + bytes([ttl, proto]) + \
        b"\x00\x00" + src + dst
    csum = sum(struct.unpack(">10H", ip))
    while csum >> 16:
        csum = (csum & 0xFFFF) + (csum >> 16)
    ip = ip[:10] + struct.pack(">H", ~csum & 0xFFFF) + ip[12:]
    return dst_mac + b"\x04" * 6 + b"\x08\x00" + ip + l4


def ipv6(payload: bytes = b"\0" * 8) -> bytes:
    return b"\x02" * 6 + b"\x04" * 6 + b"\x86\xdd" + b"\x60" + bytes(3) + \
        struct.pack(">HBB", len(payload), 17, 64) + bytes(32) + payload


SAMPLE = [
    ipv4(), ipv4(17), ipv4(6, ttl=1), ipv4(dst_mac=b"\xff" * 6), ipv4(dst_mac=b"\x01" * 6),
    ipv4(dst_mac=bytes(6)), ipv4(1, payload=bytes(range(40))), ipv4(17, payload=b"x" * 100),
    ipv6(), b"\x00" * 12 + b"\x00\x10" + bytes(30), bytes(14), bytes(15),
]
