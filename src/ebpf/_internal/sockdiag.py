"""One TCP socket of the calling thread's network namespace as the kernel's
sock_diag (NETLINK_SOCK_DIAG, what ``ss -ti`` asks) tells it: its ``tcp_info``
and the id of the cgroup it belongs to, found by its addresses and ports.

>>> find_tcp(2, bytes(4), 1, bytes(4), 1) is None   # no such socket
True
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
INET_DIAG_INFO = 2
INET_DIAG_CGROUP_ID = 21
_NOCOOKIE = 0xFFFF_FFFF


@dataclass(frozen=True)
class DiagSocket:
    """What sock_diag told of a socket."""

    state: int
    inode: int
    tcp_info: bytes
    cgroup_id: int


def _addr(raw: bytes) -> bytes:
    return raw.ljust(16, b"\0")


def find_tcp(family: int, local: bytes, lport: int, remote: bytes, rport: int
             ) -> DiagSocket | None:
    """The TCP socket with this local and remote address and port (a listener's remote
    is all zeros), or None."""
    sockid = struct.pack(">HH", lport, rport) + _addr(local) + _addr(remote) + \
        struct.pack("<III", 0, _NOCOOKIE, _NOCOOKIE)
    req = struct.pack("<BBBBI", family, socket.IPPROTO_TCP, 1 << (INET_DIAG_INFO - 1), 0,
                      0xFFFF_FFFF) + sockid
    msg = struct.pack("<IHHII", 16 + len(req), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, 1, 0) + req
    try:
        with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG) as s:
            s.settimeout(2)
            s.send(msg)
            data = s.recv(65536)
    except OSError:
        return None
    if len(data) < 16:
        return None
    length, mtype = struct.unpack_from("<IH", data, 0)
    if mtype != SOCK_DIAG_BY_FAMILY or length < 16 + 72:
        return None  # NLMSG_ERROR: no such socket
    body = data[16:length]
    state = body[1]
    inode = struct.unpack_from("<I", body, 68)[0]
    info, cgroup_id = b"", 0
    off = 72
    while off + 4 <= len(body):
        alen, atype = struct.unpack_from("<HH", body, off)
        if alen < 4:
            break
        payload = body[off + 4:off + alen]
        if atype == INET_DIAG_INFO:
            info = payload
        elif atype == INET_DIAG_CGROUP_ID and len(payload) >= 8:
            cgroup_id = struct.unpack_from("<Q", payload)[0]
        off += (alen + 3) & ~3
    return DiagSocket(state, inode, info, cgroup_id)


__all__ = ["DiagSocket", "find_tcp"]
