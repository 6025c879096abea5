"""skb helpers: loads, stores, checksums, redirect, flow hash, length changes, ECN."""

from __future__ import annotations

import errno
import os

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ..run import Redirect, Run
from .table import (
    BPF_F_INGRESS,
    TC_ACT_REDIRECT,
    TC_ACT_SHOT,
    XDP_ABORTED,
    XDP_REDIRECT,
    helper,
    neg,
)
from .tasks import _under_cgroup


# ---- packets ------------------------------------------------------------------------
def _packet(run: Run, what: str):
    if run.packet is None:
        raise RuntimeFault(f"{what} needs a packet context")
    return run.packet


@helper(H.skb_load_bytes)
def skb_load_bytes(run: Run, ctx, offset, to, length, *_):
    p = _packet(run, "bpf_skb_load_bytes")
    offset &= 0xFFFF_FFFF
    chunk = p.read_at(offset, length) if offset <= 0xFFFF and p.has_skb else None
    if chunk is None:
        run.mem.zero(to, length)
        return neg(errno.EFAULT)
    run.mem.write(to, chunk)
    return 0


@helper(H.skb_store_bytes)
def skb_store_bytes(run: Run, ctx, offset, frm, length, flags):
    p = _packet(run, "bpf_skb_store_bytes")
    if flags & ~3:
        return neg(errno.EINVAL)
    data = run.mem.read(frm, length)
    return 0 if p.write_at(offset & 0xFFFF_FFFF, data) else neg(errno.EFAULT)


def _fold16(s: int) -> int:
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def _add_carry(a: int, b: int, bits: int) -> int:
    """Ones'-complement addition with end-around carry on ``bits`` bits."""
    s = a + b
    return (s & ((1 << bits) - 1)) + (s >> bits)


def csum_partial(data: bytes, seed: int) -> int:
    """The kernel's csum_partial on x86-64: 64-bit end-around-carry sum of
    little-endian words (8, then 4, 2, 1 trailing bytes), folded to 32 bits."""
    t = seed & 0xFFFF_FFFF
    n = len(data)
    i = 0
    while n - i >= 8:
        t = _add_carry(t, int.from_bytes(data[i:i + 8], "little"), 64)
        i += 8
    for width in (4, 2, 1):
        if (n - i) & width:
            t = _add_carry(t, int.from_bytes(data[i:i + width], "little"), 64)
            i += width
    return _add_carry(t >> 32, t & 0xFFFF_FFFF, 32)


def _csum_from32to16(s: int) -> int:
    s = (s + (((s >> 16) | (s << 16)) & 0xFFFF_FFFF)) & 0xFFFF_FFFF
    return s >> 16


@helper(H.csum_diff)
def csum_diff(run: Run, frm, from_size, to, to_size, seed):
    """Checksum of ``to`` minus that of ``from`` plus ``seed``, folded to 16
    bits as current kernels return it (any sizes)."""
    a = run.mem.read(frm, from_size) if from_size else b""
    b = run.mem.read(to, to_size) if to_size else b""
    ret = seed & 0xFFFF_FFFF
    if from_size and to_size:
        ret = _add_carry(csum_partial(b, ret), ~csum_partial(a, 0) & 0xFFFF_FFFF, 32)
    elif to_size:
        ret = csum_partial(b, ret)
    elif from_size:
        ret = ~csum_partial(a, ~ret & 0xFFFF_FFFF) & 0xFFFF_FFFF
    return _csum_from32to16(ret)


def _csum_replace(run: Run, what: str, offset: int, frm: int, to: int, flags: int,
                  allowed: int) -> int:
    """bpf_l3_csum_replace / bpf_l4_csum_replace: incremental update of the 16-bit
    checksum at packet ``offset`` (RFC 1624); the low 4 bits of ``flags`` are the
    size of ``frm``/``to``, BPF_F_MARK_MANGLED_0 (0x20) keeps a zero (UDP) checksum;
    flags outside ``allowed`` give -EINVAL."""
    p = _packet(run, what)
    if flags & ~allowed:
        return -errno.EINVAL
    offset &= 0xFFFF_FFFF
    size, mangled0 = flags & 0xF, bool(flags & 0x20)
    cur = p.read_at(offset, 2)
    if cur is None:
        return -errno.EFAULT
    csum = int.from_bytes(cur, "little")
    if mangled0 and csum == 0:
        return 0
    s = (~csum) & 0xFFFF
    if size == 0:
        if frm:
            return -errno.EINVAL
        s += _fold16(to & 0xFFFF_FFFF)
    elif size == 2:
        s += (~frm & 0xFFFF) + (to & 0xFFFF)
    elif size == 4:
        s += (~frm & 0xFFFF) + (~frm >> 16 & 0xFFFF) + (to & 0xFFFF) + (to >> 16 & 0xFFFF)
    else:
        return -errno.EINVAL
    new = (~_fold16(s)) & 0xFFFF
    if mangled0 and new == 0:
        new = 0xFFFF
    p.write_at(offset, new.to_bytes(2, "little"))
    return 0


@helper(H.l3_csum_replace)
def l3_csum_replace(run: Run, ctx, offset, frm, to, flags):
    return neg(-_csum_replace(run, "bpf_l3_csum_replace", offset, frm, to, flags, 0xF))


@helper(H.l4_csum_replace)
def l4_csum_replace(run: Run, ctx, offset, frm, to, flags):
    return neg(-_csum_replace(run, "bpf_l4_csum_replace", offset, frm, to, flags,
                              0xF | 0x10 | 0x20 | 0x40))


def _is_xdp(run: Run) -> bool:
    from ...uapi import ProgramType

    return getattr(getattr(run.program, "spec", None), "type", None) == ProgramType.XDP


@helper(H.redirect)
def redirect(run: Run, ifindex, flags, *_):
    xdp = _is_xdp(run)
    if flags & ~BPF_F_INGRESS or (xdp and flags):
        return XDP_ABORTED if xdp else TC_ACT_SHOT
    run.redirect = Redirect(ifindex & 0xFFFF_FFFF, flags)
    return XDP_REDIRECT if xdp else TC_ACT_REDIRECT


@helper(H.skb_under_cgroup)
def skb_under_cgroup(run: Run, ctx, map_, index, *_):
    """As bpf_current_task_under_cgroup for the packet's socket. The runtime's
    packets belong to this process (the kernel's test_run gives the skb a socket
    made by the caller, in the caller's cgroup)."""
    _packet(run, "bpf_skb_under_cgroup")
    return _under_cgroup(run, map_, index, "bpf_skb_under_cgroup")


@helper(H.skb_load_bytes_relative)
def skb_load_bytes_relative(run: Run, ctx, offset, to, length, start_header):
    p = _packet(run, "bpf_skb_load_bytes_relative")
    if start_header not in (0, 1):
        run.mem.zero(to, length)
        return neg(errno.EFAULT)
    base = p.mac if start_header == 0 else p.net
    start = base + (offset & 0xFFFF_FFFF)
    if offset > 0xFFFF or start + length > p.end:
        run.mem.zero(to, length)
        return neg(errno.EFAULT)
    run.mem.write(to, bytes(p.buf[start:start + length]))
    return 0


@helper(H.skb_pull_data)
def skb_pull_data(run: Run, ctx, length, *_):
    p = _packet(run, "bpf_skb_pull_data")
    return 0 if length <= p.end - p.data else neg(errno.ENOMEM)


@helper(H.skb_change_tail)
def skb_change_tail(run: Run, ctx, new_len, flags, *_):
    p = _packet(run, "bpf_skb_change_tail")
    if flags:
        return neg(errno.EINVAL)
    return neg(-p.change_tail(new_len & 0xFFFF_FFFF))


@helper(H.skb_change_head)
def skb_change_head(run: Run, ctx, head_room, flags, *_):
    p = _packet(run, "bpf_skb_change_head")
    if flags:
        return neg(errno.EINVAL)
    return neg(-p.change_head(head_room & 0xFFFF_FFFF))


# ---- skb flow hash ------------------------------------------------------------------
#: the flow-hash secret (the kernel's hashrnd): random once per process
_HASH_KEY = os.urandom(16)
#: offset of __sk_buff.hash
SKB_HASH_OFF = 68


def _flow_keys(frame: bytes) -> bytes:
    """What the flow hash covers: (addresses, ports, protocol) of an Ethernet
    frame, ordered so both directions of a flow give the same keys."""
    off, proto = 12, 0
    while off + 2 <= len(frame):
        proto = int.from_bytes(frame[off:off + 2], "big")
        off += 2
        if proto in (0x8100, 0x88A8):  # VLAN tags
            off += 2
            continue
        break
    src = dst = b""
    ip_proto = 0
    l4 = None
    if proto == 0x0800 and off + 20 <= len(frame):
        ihl = (frame[off] & 0xF) * 4
        ip_proto = frame[off + 9]
        src, dst = frame[off + 12:off + 16], frame[off + 16:off + 20]
        frag = int.from_bytes(frame[off + 6:off + 8], "big") & 0x1FFF
        l4 = off + ihl if not frag else None
    elif proto == 0x86DD and off + 40 <= len(frame):
        ip_proto = frame[off + 6]
        src, dst = frame[off + 8:off + 24], frame[off + 24:off + 40]
        l4 = off + 40
    sport = dport = b""
    if l4 is not None and ip_proto in (6, 17, 132, 136) and l4 + 4 <= len(frame):
        sport, dport = frame[l4:l4 + 2], frame[l4 + 2:l4 + 4]
    if (dst, dport) < (src, sport):
        src, dst, sport, dport = dst, src, dport, sport
    return bytes([ip_proto]) + proto.to_bytes(2, "big") + src + dst + sport + dport


def _skb_ctx_set_hash(run: Run, value: int) -> None:
    r = run.mem.find(run.ctx + SKB_HASH_OFF, 4)
    if r is None:
        raise RuntimeFault("skb hash helper without an __sk_buff context")
    at = r.off + run.ctx + SKB_HASH_OFF - r.base
    r.buf[at:at + 4] = (value & 0xFFFF_FFFF).to_bytes(4, "little")


@helper(H.get_hash_recalc)
def get_hash_recalc(run: Run, ctx, *_):
    """The packet's flow hash (stored in ``skb->hash``): a keyed hash of its
    addresses, ports and protocol, the same for both directions of a flow and
    never 0, as the kernel's. The key is random per process (the kernel's is
    random per boot), so values differ from the kernel's."""
    import hashlib

    p = _packet(run, "bpf_get_hash_recalc")
    keys = _flow_keys(bytes(p.buf[p.mac:p.end]))
    value = int.from_bytes(hashlib.blake2b(keys, key=_HASH_KEY, digest_size=4).digest(),
                           "little") or 1
    _skb_ctx_set_hash(run, value)
    return value


@helper(H.set_hash_invalid)
def set_hash_invalid(run: Run, ctx, *_):
    _packet(run, "bpf_set_hash_invalid")
    _skb_ctx_set_hash(run, 0)
    return 0


@helper(H.set_hash)
def set_hash(run: Run, ctx, value, *_):
    _packet(run, "bpf_set_hash")
    _skb_ctx_set_hash(run, value)
    return 0


@helper(H.skb_ecn_set_ce)
def skb_ecn_set_ce(run: Run, ctx, *_):
    """Mark an ECN-capable IPv4/IPv6 packet Congestion Experienced (fixing the
    IPv4 checksum): 1 when the packet now carries CE, else 0, as the kernel."""
    p = _packet(run, "bpf_skb_ecn_set_ce")
    proto = bytes(p.buf[p.mac + 12:p.mac + 14]) if p.net - p.mac >= 14 else b""
    at = p.net
    if proto == b"\x08\x00":
        if p.end - at < 20:
            return 0
        tos = p.buf[at + 1]
        ecn = (tos + 1) & 3
        if not ecn & 2:
            return int(not ecn)  # already CE: 1; not ECN-capable: 0
        check = int.from_bytes(p.buf[at + 10:at + 12], "big")
        check += 0xFFFB + ecn  # the kernel's incremental update (host order sums)
        check = (check & 0xFFFF) + (check >> 16)
        p.buf[at + 10:at + 12] = (check & 0xFFFF).to_bytes(2, "big")
        p.buf[at + 1] = tos | 3
        return 1
    if proto == b"\x86\xdd":
        if p.end - at < 40:
            return 0
        word = int.from_bytes(p.buf[at:at + 4], "big")
        if not (word >> 20) & 3:
            return 0
        p.buf[at:at + 4] = (word | (3 << 20)).to_bytes(4, "big")
        return 1
    return 0
AF_INET, AF_INET6 = 2, 10
