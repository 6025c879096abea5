"""bpf_skb_adjust_room, bpf_skb_change_proto and bpf_fib_lookup."""

from __future__ import annotations

import errno

from ..._internal.ints import s32
from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ...uapi.consts import (
    BPF_FIB_LKUP_RET_FWD_DISABLED,
    BPF_FIB_LOOKUP_DIRECT,
    BPF_FIB_LOOKUP_MARK,
    BPF_FIB_LOOKUP_OUTPUT,
    BPF_FIB_LOOKUP_SKIP_NEIGH,
    BPF_FIB_LOOKUP_SRC,
    BPF_FIB_LOOKUP_TBID,
)
from ...uapi.contexts import BPF_FIB_LOOKUP
from ..run import Run
from .packets import AF_INET, AF_INET6, _packet
from .table import helper, neg

# ---- FIB lookup -----------------------------------------------------------------------
#: sizeof(struct bpf_fib_lookup); the flags a current kernel knows
FIB_LOOKUP_SIZE = BPF_FIB_LOOKUP.size
FIB_LOOKUP_FLAGS = (BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_OUTPUT | BPF_FIB_LOOKUP_SKIP_NEIGH
                    | BPF_FIB_LOOKUP_TBID | BPF_FIB_LOOKUP_SRC | BPF_FIB_LOOKUP_MARK)


@helper(H.fib_lookup)
def fib_lookup(run: Run, ctx, params, plen, flags, *_):
    """bpf_fib_lookup as far as the runtime can answer it honestly: the
    kernel's argument checks (-EINVAL, -EAFNOSUPPORT, -ENODEV for an unknown
    ``params->ifindex``) and BPF_FIB_LKUP_RET_FWD_DISABLED when forwarding is
    off on that device (the host's sysctl, which the kernel checks first). A
    lookup on a forwarding device needs the host's routing and neighbour
    tables, which the runtime does not model: that faults, naming the device."""
    import socket

    _packet(run, "bpf_fib_lookup")
    if s32(plen) < FIB_LOOKUP_SIZE or flags & 0xFFFF_FFFF & ~FIB_LOOKUP_FLAGS:
        return neg(errno.EINVAL)
    p = run.mem.read(params, FIB_LOOKUP_SIZE)
    family = p[0]
    if family not in (AF_INET, AF_INET6):
        return neg(errno.EAFNOSUPPORT)
    ifindex = int.from_bytes(p[8:12], "little")
    try:
        dev = socket.if_indextoname(ifindex)
    except OSError:
        return neg(errno.ENODEV)
    proto = "ipv4" if family == AF_INET else "ipv6"
    try:
        with open(f"/proc/sys/net/{proto}/conf/{dev}/forwarding") as f:
            forwarding = f.read().strip() != "0"
    except OSError:
        forwarding = False  # no inet config on the device: the kernel says disabled too
    if not forwarding:
        return BPF_FIB_LKUP_RET_FWD_DISABLED
    raise RuntimeFault(f"bpf_fib_lookup on {dev} ({proto} forwarding on): the vm does not "
                       "model the host's routing and neighbour tables")


# ---- bpf_skb_adjust_room ----------------------------------------------------------------
ADJ_ROOM_NET, ADJ_ROOM_MAC = 0, 1
F_ADJ_ENCAP_L3_IPV4, F_ADJ_ENCAP_L3_IPV6 = 1 << 1, 1 << 2
F_ADJ_ENCAP_L4_GRE, F_ADJ_ENCAP_L4_UDP = 1 << 3, 1 << 4
F_ADJ_ENCAP_L2_ETH = 1 << 6
F_ADJ_DECAP_L3_IPV4, F_ADJ_DECAP_L3_IPV6 = 1 << 7, 1 << 8
#: every flag bit a current kernel accepts (BPF_F_ADJ_ROOM_MASK), with the L2 length
F_ADJ_ROOM_MASK = 0x1FF | (0xFF << 56)
ENOTSUPP = 524
ETH_P_IP, ETH_P_IPV6 = 0x0800, 0x86DD
#: offset of __sk_buff.protocol
SKB_PROTOCOL_OFF = 16


def _skb_protocol(run: Run) -> int:
    r = run.mem.region(run.ctx + SKB_PROTOCOL_OFF, 4, what="read of __sk_buff.protocol")
    at = r.off + run.ctx + SKB_PROTOCOL_OFF - r.base
    return int.from_bytes(r.buf[at:at + 2], "big")


def _skb_set_protocol(run: Run, proto: int) -> None:
    r = run.mem.region(run.ctx + SKB_PROTOCOL_OFF, 4, what="write of __sk_buff.protocol")
    at = r.off + run.ctx + SKB_PROTOCOL_OFF - r.base
    r.buf[at:at + 2] = proto.to_bytes(2, "big")


@helper(H.skb_adjust_room)
def skb_adjust_room(run: Run, ctx, len_diff, mode, flags, *_):
    """Grow (zeros) or shrink the room after the MAC header (BPF_ADJ_ROOM_MAC)
    or after the base IP header (BPF_ADJ_ROOM_NET), with the kernel's checks;
    the encap/decap flags switch ``skb->protocol`` as the kernel does."""
    p = _packet(run, "bpf_skb_adjust_room")
    diff = s32(len_diff)
    shrink = diff < 0
    n = abs(diff)
    proto = _skb_protocol(run)
    if flags & ~F_ADJ_ROOM_MASK:
        return neg(errno.EINVAL)
    if n > 0xFFF:
        return neg(errno.EFAULT)
    if proto not in (ETH_P_IP, ETH_P_IPV6):
        return neg(ENOTSUPP)
    base = 20 if proto == ETH_P_IP else 40
    off = p.net - p.mac
    mode &= 0xFFFF_FFFF
    if mode == ADJ_ROOM_NET:
        off += base
    elif mode != ADJ_ROOM_MAC:
        return neg(ENOTSUPP)
    decap = flags & (F_ADJ_DECAP_L3_IPV4 | F_ADJ_DECAP_L3_IPV6)
    if decap:
        if not shrink or decap == F_ADJ_DECAP_L3_IPV4 | F_ADJ_DECAP_L3_IPV6:
            return neg(errno.EINVAL)
    len_cur = p.end - p.net
    # after a decap, the packet must still hold the new (inner) base header
    len_min = {F_ADJ_DECAP_L3_IPV4: 20, F_ADJ_DECAP_L3_IPV6: 40}.get(decap, base)
    if shrink and (n >= len_cur or len_cur - n < len_min):
        return neg(ENOTSUPP)
    if shrink and flags & ~(F_ADJ_DECAP_L3_IPV4 | F_ADJ_DECAP_L3_IPV6 | 0x21):
        return neg(errno.EINVAL)  # encap flags make no sense when shrinking
    encap = flags & (F_ADJ_ENCAP_L3_IPV4 | F_ADJ_ENCAP_L3_IPV6)
    if not shrink and encap:
        if encap == F_ADJ_ENCAP_L3_IPV4 | F_ADJ_ENCAP_L3_IPV6:
            return neg(errno.EINVAL)
        if flags & F_ADJ_ENCAP_L4_GRE and flags & F_ADJ_ENCAP_L4_UDP:
            return neg(errno.EINVAL)
        inner_mac = (flags >> 56) & 0xFF
        if flags & F_ADJ_ENCAP_L2_ETH and inner_mac != 14:
            return neg(errno.EINVAL)
        if inner_mac > n:
            return neg(errno.EINVAL)
    pos = p.mac + off
    if pos > p.end:
        return neg(errno.EFAULT)
    if shrink:
        del p.buf[pos:pos + n]
        p.end -= n
        p.max_end -= n
    else:
        p.buf[pos:pos] = bytes(n)
        p.end += n
        p.max_end += n
    if not shrink and encap:
        if proto == ETH_P_IP and encap == F_ADJ_ENCAP_L3_IPV6:
            _skb_set_protocol(run, ETH_P_IPV6)
        elif proto == ETH_P_IPV6 and encap == F_ADJ_ENCAP_L3_IPV4:
            _skb_set_protocol(run, ETH_P_IP)
    if decap:
        _skb_set_protocol(run, ETH_P_IP if decap == F_ADJ_DECAP_L3_IPV4 else ETH_P_IPV6)
    p._changed()
    return 0


@helper(H.skb_change_proto)
def skb_change_proto(run: Run, ctx, proto, flags, *_):
    """NAT64-style IPv4 <-> IPv6 switch: 20 zero bytes inserted (or the first
    20 removed) right after the MAC header and ``skb->protocol`` set; the
    program writes the new header itself, as with the kernel."""
    p = _packet(run, "bpf_skb_change_proto")
    if flags:
        return neg(errno.EINVAL)
    to = int.from_bytes((proto & 0xFFFF).to_bytes(2, "little"), "big")  # a __be16
    cur = _skb_protocol(run)
    pos = p.net
    if cur == ETH_P_IP and to == ETH_P_IPV6:
        p.buf[pos:pos] = bytes(20)
        p.end += 20
        p.max_end += 20
    elif cur == ETH_P_IPV6 and to == ETH_P_IP:
        if p.end - pos < 20:
            return neg(errno.ENOMEM)
        del p.buf[pos:pos + 20]
        p.end -= 20
        p.max_end -= 20
    else:
        return neg(ENOTSUPP)
    _skb_set_protocol(run, to)
    p._changed()
    return 0
