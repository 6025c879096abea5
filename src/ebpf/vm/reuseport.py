"""An SK_REUSEPORT program's run: the kernel runs it when a packet (a UDP
datagram, a TCP SYN) reaches a port of a SO_REUSEPORT group, to choose the
group's socket that gets it; it cannot be test-run there. The runtime runs one
on a :class:`ReuseportRequest`: a socket of the group (one of this process's)
and the packet from its transport header on, as the kernel's ``data`` shows it::

    prog.test_run(ctx=ReuseportRequest(sock, udp_header + payload))

The ``struct sk_reuseport_md`` holds ``data``/``data_end`` (read-only), ``len``,
``eth_protocol`` (ETH_P_IP or ETH_P_IPV6, network order), ``ip_protocol``,
``bind_inany`` (the group is bound to the wildcard address) and ``hash``: the
kernel's is a keyed hash of the 4-tuple, which the runtime cannot reproduce; it
is the request's (0 unless given). ``sk`` and ``migrating_sk`` are NULL. The
choice ``bpf_sk_select_reuseport`` made is the run's ``redirect`` (its map and
the socket's cookie); no choice with SK_PASS leaves the kernel's own hash choice.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

from ..uapi.contexts import SK_REUSEPORT_MD
from .contexts import Context, _ctx_region
from .maps.reuseport import Group, reuseport_group
from .memory import PACKET_BASE, Memory, Region

_F = SK_REUSEPORT_MD.fields
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD


@dataclass(frozen=True)
class ReuseportRequest:
    """A packet for the reuseport group of ``sock``: ``data`` from its transport
    header on; ``hash`` stands for the kernel's 4-tuple hash."""

    sock: socket.socket | int
    data: bytes = b""
    hash: int = 0

    def fd(self) -> int:
        return self.sock if isinstance(self.sock, int) else self.sock.fileno()


class ReuseportContext(Context):
    """``struct sk_reuseport_md`` of a :class:`ReuseportRequest`."""

    def __init__(self, mem: Memory, request: ReuseportRequest):
        self.request = request
        group = reuseport_group(request.fd())
        if group is None:
            from ..errors import SystemCallError

            raise SystemCallError("sk_reuseport run: the request's socket is in no reuseport "
                                  "group (SO_REUSEPORT, bound; listening for TCP)", 22)
        self.group: Group = group
        self.packet_buf = bytearray(request.data)
        mem.add_local(Region(PACKET_BASE, self.packet_buf, "sk_reuseport data",
                             writable=False))
        buf = bytearray(SK_REUSEPORT_MD.size)
        family, proto, addr, _ = group
        n = len(self.packet_buf)
        struct.pack_into("<QQ", buf, _F["data"].offset, PACKET_BASE, PACKET_BASE + n)
        struct.pack_into("<I", buf, _F["len"].offset, n)
        eth = ETH_P_IPV6 if family == socket.AF_INET6 else ETH_P_IP
        struct.pack_into("<I", buf, _F["eth_protocol"].offset, socket.htons(eth))
        struct.pack_into("<I", buf, _F["ip_protocol"].offset, proto)
        struct.pack_into("<I", buf, _F["bind_inany"].offset, int(addr in ("0.0.0.0", "::")))
        struct.pack_into("<I", buf, _F["hash"].offset, request.hash & 0xFFFF_FFFF)
        self.buf = buf
        self.region = _ctx_region(mem, buf, "sk_reuseport_md", fields=[])
        self.addr = self.region.base

    def socket_group(self, fd: int) -> Group | None:
        return reuseport_group(fd)

    def finish(self) -> tuple[bytes, bytes | None]:
        return b"", bytes(self.buf)


def socket_family_protocol(fd: int) -> tuple[int, int]:
    s = socket.socket(fileno=os.dup(fd))
    try:
        return s.family, s.getsockopt(socket.SOL_SOCKET, socket.SO_PROTOCOL)
    finally:
        s.close()


__all__ = ["ReuseportContext", "ReuseportRequest", "socket_family_protocol"]
