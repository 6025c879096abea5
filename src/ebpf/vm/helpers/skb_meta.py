"""What a tc program asks of its skb beyond the bytes: cgroup ids and classids,
the checksum state, the packet type and timestamp, neighbour and peer redirects.

The runtime's skb is a test run's: it belongs to a socket made for the run in the
calling thread's cgroup (``bpf_skb_cgroup_id`` is that cgroup, its ancestors by
level from the root), owned by uid 0, with no net_cls classid (cgroup v2) and no
route (realm 0); its checksum is not verified (``CHECKSUM_NONE``) until
``bpf_csum_level`` says otherwise, so ``bpf_csum_update`` finds no full checksum
to update (``-ENOTSUPP``). As the kernel's, ``bpf_skb_set_tstamp`` takes only IPv4
and IPv6 packets and ``bpf_redirect_peer``/``bpf_redirect_neigh`` only record the
redirect (``TC_ACT_REDIRECT``), refusing unknown flags (``TC_ACT_SHOT``).
"""

from __future__ import annotations

import errno
import os
import struct

from ...uapi import HelperId as H
from .. import cgroups
from ..contexts import SK_BUFF_SIZE, SKB
from ..run import Redirect, Run
from .packets import _packet
from .table import TC_ACT_REDIRECT, TC_ACT_SHOT, helper, neg

ENOTSUPP = 524
M64 = (1 << 64) - 1
CHECKSUM_NONE, CHECKSUM_UNNECESSARY = 0, 1
SKB_MAX_CSUM_LEVEL = 3
BPF_CSUM_LEVEL_QUERY, BPF_CSUM_LEVEL_INC, BPF_CSUM_LEVEL_DEC, BPF_CSUM_LEVEL_RESET = range(4)
PACKET_OTHERHOST = 3
BPF_SKB_CLOCK_REALTIME, BPF_SKB_CLOCK_MONOTONIC, BPF_SKB_CLOCK_TAI = range(3)
#: sizeof(struct bpf_redir_neigh)
REDIR_NEIGH_SIZE = 20


def _ctx(run: Run) -> bytearray:
    """The __sk_buff bytes of the run (helpers set fields the program may not)."""
    r = run.mem.find(run.ctx, SK_BUFF_SIZE)
    assert r is not None
    return r.buf


def _zero_helper(name: str) -> None:
    """Register ``bpf_<name>``, which gives 0 for the runtime's skb (no net_cls
    classid, no route realm, owned by uid 0)."""
    def zero(run: Run, skb, *_):
        _packet(run, f"bpf_{name}")
        return 0
    zero.__name__ = name
    helper(H[name])(zero)


for _name in ("get_cgroup_classid", "skb_cgroup_classid", "get_route_realm", "get_socket_uid"):
    _zero_helper(_name)


def ancestor_cgroup_id(level: int) -> int:
    """The id of the calling thread's cgroup's ancestor ``level`` levels below the
    root (the root is level 0), 0 when the cgroup is not that deep."""
    root, here = cgroups.cgroup2_mount(), cgroups.current_cgroup_dir()
    if root is None or here is None:
        return 0
    parts = [c for c in os.path.relpath(os.path.normpath(here), os.path.normpath(root)).split("/")
             if c and c != "."]
    if level > len(parts):
        return 0
    try:
        return os.stat(os.path.join(root, *parts[:level])).st_ino
    except OSError:
        return 0


@helper(H.skb_cgroup_id)
def skb_cgroup_id(run: Run, skb, *_):
    _packet(run, "bpf_skb_cgroup_id")
    return cgroups.current_cgroup_id()


@helper(H.skb_ancestor_cgroup_id)
def skb_ancestor_cgroup_id(run: Run, skb, level, *_):
    _packet(run, "bpf_skb_ancestor_cgroup_id")
    return ancestor_cgroup_id(level & 0xFFFF_FFFF)


@helper(H.get_current_ancestor_cgroup_id)
def get_current_ancestor_cgroup_id(run: Run, level, *_):
    return ancestor_cgroup_id(level & 0xFFFF_FFFF)


@helper(H.csum_update)
def csum_update(run: Run, skb, csum, *_):
    _packet(run, "bpf_csum_update")
    return neg(ENOTSUPP)  # only a CHECKSUM_COMPLETE skb has a checksum to update


@helper(H.csum_level)
def csum_level(run: Run, skb, level, *_):
    p = _packet(run, "bpf_csum_level")
    level &= M64
    unnecessary = p.ip_summed == CHECKSUM_UNNECESSARY
    if level == BPF_CSUM_LEVEL_QUERY:
        return p.csum_level if unnecessary else neg(errno.EACCES)
    if level == BPF_CSUM_LEVEL_INC:
        if unnecessary:
            p.csum_level = min(p.csum_level + 1, SKB_MAX_CSUM_LEVEL)
        elif p.ip_summed == CHECKSUM_NONE:
            p.ip_summed, p.csum_level = CHECKSUM_UNNECESSARY, 0
    elif level == BPF_CSUM_LEVEL_DEC:
        if unnecessary:
            if p.csum_level == 0:
                p.ip_summed = CHECKSUM_NONE
            else:
                p.csum_level -= 1
    elif level == BPF_CSUM_LEVEL_RESET:
        if unnecessary:
            p.ip_summed, p.csum_level = CHECKSUM_NONE, 0
    else:
        return neg(errno.EINVAL)
    return 0



@helper(H.skb_change_type)
def skb_change_type(run: Run, skb, pkt_type, *_):
    _packet(run, "bpf_skb_change_type")
    ctx = _ctx(run)
    now = struct.unpack_from("<I", ctx, SKB["pkt_type"])[0]
    pkt_type &= 0xFFFF_FFFF
    if now > PACKET_OTHERHOST or pkt_type > PACKET_OTHERHOST:
        return neg(errno.EINVAL)
    struct.pack_into("<I", ctx, SKB["pkt_type"], pkt_type)
    return 0


@helper(H.skb_set_tstamp)
def skb_set_tstamp(run: Run, skb, tstamp, tstamp_type, *_):
    _packet(run, "bpf_skb_set_tstamp")
    ctx = _ctx(run)
    proto = int.from_bytes(ctx[SKB["protocol"]:SKB["protocol"] + 2], "big")
    if proto not in (0x0800, 0x86DD):
        return neg(errno.EOPNOTSUPP)
    tstamp_type &= 0xFFFF_FFFF
    if tstamp_type not in (BPF_SKB_CLOCK_REALTIME, BPF_SKB_CLOCK_MONOTONIC, BPF_SKB_CLOCK_TAI) \
            or (tstamp_type != BPF_SKB_CLOCK_REALTIME and not tstamp):
        return neg(errno.EINVAL)
    struct.pack_into("<Q", ctx, SKB["tstamp"], tstamp & M64)
    ctx[SKB["tstamp_type"]] = tstamp_type
    return 0


@helper(H.redirect_peer)
def redirect_peer(run: Run, ifindex, flags, *_):
    if flags:
        return TC_ACT_SHOT
    run.redirect = Redirect(ifindex & 0xFFFF_FFFF, flags)
    return TC_ACT_REDIRECT


@helper(H.redirect_neigh)
def redirect_neigh(run: Run, ifindex, params, plen, flags, *_):
    plen &= 0xFFFF_FFFF
    if (plen and plen < REDIR_NEIGH_SIZE) or flags:
        return TC_ACT_SHOT
    run.redirect = Redirect(ifindex & 0xFFFF_FFFF, flags)
    return TC_ACT_REDIRECT


#: SO_NETNS_COOKIE: the cookie of a socket's network namespace (Linux 5.14+)
SO_NETNS_COOKIE = 71


@helper(H.get_netns_cookie)
def get_netns_cookie(run: Run, ctx, *_):
    """The cookie of the network namespace the program runs in: the calling
    thread's (the runtime's packets and sockets live there)."""
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        return int.from_bytes(s.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8), "little")
