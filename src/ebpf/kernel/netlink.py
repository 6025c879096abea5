"""rtnetlink for XDP: the legacy attach path (before XDP bpf_links, Linux 5.9) and
querying what is attached to an interface.

Messages are built by hand (struct): nlmsghdr + ifinfomsg + a nested IFLA_XDP
attribute holding IFLA_XDP_FD / IFLA_XDP_FLAGS.

>>> from ebpf.kernel import netlink  # doctest: +SKIP
>>> netlink.xdp_query(1)  # doctest: +SKIP
XDPState(attached=0, prog_id=0)
"""

from __future__ import annotations

import errno as _errno
import itertools
import os
import socket
import struct
from typing import Any, NamedTuple

from ..errors import AttachError, PrivilegeError

NETLINK_ROUTE = 0
RTM_GETLINK = 18
RTM_SETLINK = 19
NLM_F_REQUEST = 0x1
NLM_F_ACK = 0x4
NLMSG_ERROR = 0x2
NLMSG_DONE = 0x3
NLA_F_NESTED = 0x8000
IFLA_XDP = 43
IFLA_XDP_FD = 1
IFLA_XDP_ATTACHED = 2
IFLA_XDP_FLAGS = 3
IFLA_XDP_PROG_ID = 4
IFLA_EXT_MASK = 29
RTEXT_FILTER_VF = 1

XDP_ATTACHED = {0: "none", 1: "drv", 2: "skb", 3: "hw", 4: "multi"}

_seq = itertools.count(1)
_NLMSG = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_NLA = struct.Struct("=HH")


class XDPState(NamedTuple):
    """What rtnetlink says is attached: ``attached`` (0 none, 1 drv, 2 skb, 3 hw,
    4 several) and the program id (0 when none)."""

    attached: int
    prog_id: int


def _attr(atype: int, payload: bytes) -> bytes:
    raw = _NLA.pack(_NLA.size + len(payload), atype) + payload
    return raw + b"\0" * ((4 - len(raw) % 4) % 4)


def _request(msg_type: int, flags: int, body: bytes) -> list[tuple[int, bytes]]:
    seq = next(_seq)
    msg = _NLMSG.pack(_NLMSG.size + len(body), msg_type, flags, seq, 0) + body
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                       NETLINK_ROUTE) as s:
        s.settimeout(5.0)
        s.bind((0, 0))
        s.send(msg)
        out: list[tuple[int, bytes]] = []
        while True:
            data = s.recv(65536)
            off = 0
            while off + _NLMSG.size <= len(data):
                length, rtype, _fl, rseq, _pid = _NLMSG.unpack_from(data, off)
                if length < _NLMSG.size:
                    return out
                payload = data[off + _NLMSG.size:off + length]
                off += (length + 3) & ~3
                if rseq != seq:
                    continue
                if rtype == NLMSG_ERROR:
                    (err,) = struct.unpack_from("=i", payload, 0)
                    if err:
                        raise OSError(-err, os.strerror(-err))
                    return out
                if rtype == NLMSG_DONE:
                    return out
                out.append((rtype, payload))
                if not flags & NLM_F_ACK:
                    return out


def _ifinfo(ifindex: int) -> bytes:
    return _IFINFO.pack(socket.AF_UNSPEC, 0, ifindex, 0, 0)


def xdp_set(ifindex: int, prog_fd: int, flags: int = 0) -> None:
    """Attach (``prog_fd`` >= 0) or detach (-1) XDP on ``ifindex`` through rtnetlink."""
    nested = _attr(IFLA_XDP_FD, struct.pack("=i", prog_fd))
    if flags:
        nested += _attr(IFLA_XDP_FLAGS, struct.pack("=I", flags))
    body = _ifinfo(ifindex) + _attr(IFLA_XDP | NLA_F_NESTED, nested)
    try:
        _request(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, body)
    except OSError as e:
        what = f"{'attaching' if prog_fd >= 0 else 'detaching'} XDP on ifindex {ifindex} (netlink)"
        if e.errno in (_errno.EPERM, _errno.EACCES):
            raise PrivilegeError(what, e.errno, capability="CAP_NET_ADMIN") from None
        raise AttachError(what, e.errno) from None


def xdp_query(ifindex: int) -> XDPState:
    """What XDP program is attached to ``ifindex`` (any way: link or netlink)."""
    body = _ifinfo(ifindex) + _attr(IFLA_EXT_MASK, struct.pack("=I", RTEXT_FILTER_VF))
    try:
        msgs = _request(RTM_GETLINK, NLM_F_REQUEST, body)
    except OSError as e:
        raise AttachError(f"querying XDP on ifindex {ifindex} (netlink)", e.errno) from None
    for _rtype, payload in msgs:
        off = _IFINFO.size
        while off + _NLA.size <= len(payload):
            alen, atype = _NLA.unpack_from(payload, off)
            if alen < _NLA.size:
                break
            if atype & ~NLA_F_NESTED == IFLA_XDP:
                attached, prog_id = 0, 0
                inner = payload[off + _NLA.size:off + alen]
                ioff = 0
                while ioff + _NLA.size <= len(inner):
                    ilen, itype = _NLA.unpack_from(inner, ioff)
                    if ilen < _NLA.size:
                        break
                    val = inner[ioff + _NLA.size:ioff + ilen]
                    if itype == IFLA_XDP_ATTACHED and val:
                        attached = val[0]
                    elif itype == IFLA_XDP_PROG_ID and len(val) >= 4:
                        prog_id = struct.unpack_from("=I", val)[0]
                    ioff += (ilen + 3) & ~3
                return XDPState(attached, prog_id)
            off += (alen + 3) & ~3
    return XDPState(0, 0)


def attach_xdp_netlink(prog: Any, ifindex: int, flags: int, description: str):
    """Legacy XDP attach; the returned link detaches on close and at exit."""
    from . import sys as bsys
    from .links import CallbackLink

    fd = int(prog.fd)
    prog_id = bsys.get_info_by_fd(fd, bsys.ProgInfo()).id
    xdp_set(ifindex, fd, flags)
    mode_flags = flags & 0xE  # keep SKB/DRV/HW mode bits for the detach

    def undo() -> None:
        state = xdp_query(ifindex)
        if state.prog_id != prog_id:
            return  # gone already, or someone else's program now
        xdp_set(ifindex, -1, mode_flags)
    return CallbackLink(prog, description, undo)
