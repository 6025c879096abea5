"""rtnetlink for the legacy network attach paths and for queries:

* XDP through RTM_SETLINK (before XDP bpf_links, Linux 5.9): nlmsghdr + ifinfomsg +
  a nested IFLA_XDP attribute holding IFLA_XDP_FD / IFLA_XDP_FLAGS;
* tc through a ``clsact`` qdisc and a direct-action ``cls_bpf`` filter (before
  tcx links, Linux 6.6): RTM_NEWQDISC / RTM_NEWTFILTER / RTM_DELTFILTER with a
  tcmsg and TCA_KIND / TCA_OPTIONS{TCA_BPF_FD, TCA_BPF_NAME, TCA_BPF_FLAGS}.

>>> import socket
>>> from ebpf.kernel import netlink
>>> state = netlink.xdp_query(socket.if_nametoindex("lo"))
>>> state.attached in netlink.XDP_ATTACHED
True
"""

from __future__ import annotations

import errno as _errno
import itertools
import os
import socket
import struct
from typing import Any, NamedTuple

from ..errors import AttachError, PrivilegeError
from ..uapi.consts import (  # the rtnetlink numbers, generated from the headers
    ETH_P_ALL,
    IFLA_EXT_MASK,
    IFLA_XDP,
    IFLA_XDP_ATTACHED,
    IFLA_XDP_FD,
    IFLA_XDP_FLAGS,
    IFLA_XDP_PROG_ID,
    NETLINK_ROUTE,
    NLA_F_NESTED,
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    RTEXT_FILTER_VF,
    RTM_DELQDISC,
    RTM_DELTFILTER,
    RTM_GETLINK,
    RTM_GETTFILTER,
    RTM_NEWQDISC,
    RTM_NEWTFILTER,
    RTM_SETLINK,
    TC_H_CLSACT,
    TC_H_MIN_EGRESS,
    TC_H_MIN_INGRESS,
    TCA_BPF_FD,
    TCA_BPF_FLAG_ACT_DIRECT,
    TCA_BPF_FLAGS,
    TCA_BPF_NAME,
    TCA_KIND,
    TCA_OPTIONS,
    XDP_ATTACHED_DRV,
    XDP_ATTACHED_HW,
    XDP_ATTACHED_MULTI,
    XDP_ATTACHED_NONE,
    XDP_ATTACHED_SKB,
)

#: XDP_ATTACHED_* (linux/if_link.h) -> mode name
XDP_ATTACHED = {XDP_ATTACHED_NONE: "none", XDP_ATTACHED_DRV: "drv", XDP_ATTACHED_SKB: "skb",
                XDP_ATTACHED_HW: "hw", XDP_ATTACHED_MULTI: "multi"}

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
                if not flags & (NLM_F_ACK | NLM_F_DUMP):
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
    from ..uapi import structs
    from . import commands
    from .links import CallbackLink

    fd = int(prog.fd)
    prog_id = commands.get_info_by_fd(fd, structs.ProgInfo()).id
    xdp_set(ifindex, fd, flags)
    mode_flags = flags & 0xE  # keep SKB/DRV/HW mode bits for the detach

    def undo() -> None:
        state = xdp_query(ifindex)
        if state.prog_id != prog_id:
            return  # gone already, or someone else's program now
        xdp_set(ifindex, -1, mode_flags)
    return CallbackLink(prog, description, undo)


# ---- tc (clsact + cls_bpf) ------------------------------------------------------------

_TCMSG = struct.Struct("=BxxxiIII")


def _tc_parent(direction: str) -> int:
    return (TC_H_CLSACT & 0xFFFF0000) | (TC_H_MIN_INGRESS if direction == "ingress"
                                          else TC_H_MIN_EGRESS)


def _tcmsg(ifindex: int, handle: int, parent: int, info: int) -> bytes:
    return _TCMSG.pack(socket.AF_UNSPEC, ifindex, handle, parent, info)


def _tc_error(e: OSError, what: str) -> Exception:
    if e.errno in (_errno.EPERM, _errno.EACCES):
        return PrivilegeError(what, e.errno, capability="CAP_NET_ADMIN")
    return AttachError(what, e.errno)


def clsact_ensure(ifindex: int) -> bool:
    """Add a clsact qdisc to ``ifindex``; True when we created it (False: it was there)."""
    body = _tcmsg(ifindex, TC_H_CLSACT & 0xFFFF0000, TC_H_CLSACT, 0) + \
        _attr(TCA_KIND, b"clsact\0")
    try:
        _request(RTM_NEWQDISC, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)
    except OSError as e:
        if e.errno == _errno.EEXIST:
            return False
        raise _tc_error(e, f"adding a clsact qdisc to ifindex {ifindex}") from None
    return True


def clsact_delete(ifindex: int) -> None:
    """Remove the clsact qdisc of ``ifindex`` (and every filter on it)."""
    body = _tcmsg(ifindex, TC_H_CLSACT & 0xFFFF0000, TC_H_CLSACT, 0) + \
        _attr(TCA_KIND, b"clsact\0")
    try:
        _request(RTM_DELQDISC, NLM_F_REQUEST | NLM_F_ACK, body)
    except OSError as e:
        if e.errno not in (_errno.ENOENT, _errno.EINVAL):
            raise _tc_error(e, f"removing the clsact qdisc of ifindex {ifindex}") from None


def tc_filters(ifindex: int, direction: str) -> list[tuple[int, int]]:
    """(handle, info) of the filters on the clsact ``direction`` hook of ``ifindex``."""
    body = _tcmsg(ifindex, 0, _tc_parent(direction), 0)
    try:
        msgs = _request(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, body)
    except OSError as e:
        if e.errno in (_errno.EINVAL, _errno.ENOENT):
            return []  # no clsact qdisc
        raise _tc_error(e, f"listing tc filters of ifindex {ifindex}") from None
    out = []
    for _rtype, payload in msgs:
        _fam, _idx, handle, _parent, info = _TCMSG.unpack_from(payload, 0)
        if handle:
            out.append((handle, info))
    return out


def tc_filter_add(ifindex: int, direction: str, prog_fd: int, name: str, *,
                  prio: int = 1, handle: int = 1) -> None:
    """Attach ``prog_fd`` as a direct-action cls_bpf filter (clsact must exist)."""
    info = (prio << 16) | socket.htons(ETH_P_ALL)
    opts = _attr(TCA_BPF_FD, struct.pack("=I", prog_fd)) + \
        _attr(TCA_BPF_NAME, name.encode()[:255] + b"\0") + \
        _attr(TCA_BPF_FLAGS, struct.pack("=I", TCA_BPF_FLAG_ACT_DIRECT))
    body = _tcmsg(ifindex, handle, _tc_parent(direction), info) + \
        _attr(TCA_KIND, b"bpf\0") + _attr(TCA_OPTIONS | NLA_F_NESTED, opts)
    try:
        _request(RTM_NEWTFILTER, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, body)
    except OSError as e:
        if e.errno == _errno.EEXIST:
            raise AttachError(f"attaching tc {direction} filter on ifindex {ifindex}: a filter "
                              f"with handle {handle} prio {prio} is there already",
                              e.errno) from None
        raise _tc_error(e, f"attaching tc {direction} filter on ifindex {ifindex}") from None


def tc_filter_delete(ifindex: int, direction: str, *, prio: int = 1, handle: int = 1) -> None:
    info = (prio << 16) | socket.htons(ETH_P_ALL)
    body = _tcmsg(ifindex, handle, _tc_parent(direction), info) + _attr(TCA_KIND, b"bpf\0")
    try:
        _request(RTM_DELTFILTER, NLM_F_REQUEST | NLM_F_ACK, body)
    except OSError as e:
        if e.errno not in (_errno.ENOENT, _errno.EINVAL, _errno.ENODEV):
            raise _tc_error(e, f"detaching tc {direction} filter on ifindex {ifindex}") from None


def attach_tc_netlink(prog: Any, ifindex: int, direction: str, description: str, *,
                      prio: int = 1, handle: int = 1):
    """Legacy tc attach (clsact + cls_bpf, direct action); the returned link removes
    the filter on close and at exit, and the clsact qdisc too when it made it and no
    other filter is left on it."""
    from .links import CallbackLink

    if clsact_ensure(ifindex):
        _clsact_ours.add(ifindex)

    def cleanup_qdisc() -> None:
        if ifindex in _clsact_ours and not tc_filters(ifindex, "ingress") \
                and not tc_filters(ifindex, "egress"):
            clsact_delete(ifindex)
            _clsact_ours.discard(ifindex)
    try:
        tc_filter_add(ifindex, direction, int(prog.fd), getattr(prog, "name", "bpf"),
                      prio=prio, handle=handle)
    except BaseException:
        cleanup_qdisc()
        raise

    def undo() -> None:
        tc_filter_delete(ifindex, direction, prio=prio, handle=handle)
        cleanup_qdisc()
    return CallbackLink(prog, description, undo)


#: interfaces whose clsact qdisc this process added (removed again once empty)
_clsact_ours: set[int] = set()
