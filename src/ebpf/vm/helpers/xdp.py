"""XDP helpers: head/tail/meta adjustments, loads and stores, redirect through maps.

A multi-buffer frame (``xdp.frags``: more data than the linear frame holds) keeps
the rest in page-sized fragments after the linear data: ``bpf_xdp_get_buff_len``
counts them, ``bpf_xdp_load_bytes``/``store_bytes`` reach across them, and
``bpf_xdp_adjust_tail`` grows the last one within its page or trims from the end,
dropping fragments it empties, as the kernel's.
"""

from __future__ import annotations

import errno

from ..._internal.ints import s32
from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ...uapi import MapType
from ...uapi.consts import BPF_F_BROADCAST, BPF_F_EXCLUDE_INGRESS
from ..contexts import ETH_HLEN, PAGE_SIZE
from ..run import Redirect, Run
from .packets import _packet
from .table import XDP_ABORTED, XDP_REDIRECT, get_map, helper, neg


@helper(H.xdp_adjust_head)
def xdp_adjust_head(run: Run, ctx, delta, *_):
    return neg(-_packet(run, "bpf_xdp_adjust_head").adjust_head(s32(delta)))


@helper(H.xdp_adjust_tail)
def xdp_adjust_tail(run: Run, ctx, delta, *_):
    p = _packet(run, "bpf_xdp_adjust_tail")
    delta = s32(delta)
    if p.frags:
        return neg(-(_frags_shrink(p, -delta) if delta < 0 else _frags_grow(p, delta)))
    return neg(-p.adjust_tail(delta))


def _frags_grow(p, delta: int) -> int:
    """Grow the last fragment into the rest of its page (zeroed)."""
    last = p.frags[-1]
    if delta > PAGE_SIZE - len(last):
        return -errno.EINVAL
    last.extend(bytes(delta))
    return 0


def _frags_shrink(p, delta: int) -> int:
    """Trim from the fragments backwards, dropping emptied ones; once none is
    left, the rest comes off the linear part."""
    if delta > buff_len(p) - ETH_HLEN:
        return -errno.EINVAL
    while p.frags and delta > 0:
        last = p.frags[-1]
        cut = min(delta, len(last))
        del last[len(last) - cut:]
        delta -= cut
        if not last:
            p.frags.pop()
    if not p.frags and delta:
        p.end -= delta
        p._changed()
    return 0


@helper(H.xdp_adjust_meta)
def xdp_adjust_meta(run: Run, ctx, delta, *_):
    return neg(-_packet(run, "bpf_xdp_adjust_meta").adjust_meta(s32(delta)))


def buff_len(p) -> int:
    """The frame's length: the linear data and every fragment."""
    return p.end - p.data + sum(len(f) for f in p.frags)


def _pieces(p) -> list[tuple[bytearray, int, int]]:
    """(buffer, start, end) of the linear data, then of each fragment."""
    return [(p.buf, p.data, p.end), *((f, 0, len(f)) for f in p.frags)]


def xdp_copy(p, offset: int, length: int, data: bytes | None = None) -> bytes | int:
    """Read ``length`` bytes at ``offset`` of the frame across its fragments (or
    write ``data`` there): the bytes read, 0 written, or -errno as the kernel's
    bpf_xdp_load/store_bytes (-EFAULT past 64 KiB, -EINVAL past the end)."""
    if offset > 0xFFFF or length > 0xFFFF:
        return -errno.EFAULT
    if offset + length > buff_len(p):
        return -errno.EINVAL
    out = bytearray()
    pos = 0
    for buf, start, end in _pieces(p):
        size = end - start
        if length and offset < pos + size and offset + length > pos:
            lo = max(offset, pos) - pos + start
            hi = min(offset + length, pos + size) - pos + start
            if data is None:
                out += buf[lo:hi]
            else:
                done = max(offset, pos) - offset
                buf[lo:hi] = data[done:done + hi - lo]
        pos += size
    return bytes(out) if data is None else 0


@helper(H.xdp_get_buff_len)
def xdp_get_buff_len(run: Run, ctx, *_):
    return buff_len(_packet(run, "bpf_xdp_get_buff_len"))


@helper(H.xdp_load_bytes)
def xdp_load_bytes(run: Run, ctx, offset, to, length, *_):
    p = _packet(run, "bpf_xdp_load_bytes")
    chunk = xdp_copy(p, offset & 0xFFFF_FFFF, length & 0xFFFF_FFFF)
    if isinstance(chunk, int):
        return neg(-chunk)
    run.mem.write(to, chunk)
    return 0


@helper(H.xdp_store_bytes)
def xdp_store_bytes(run: Run, ctx, offset, frm, length, *_):
    p = _packet(run, "bpf_xdp_store_bytes")
    length &= 0xFFFF_FFFF
    data = run.mem.read(frm, length) if length <= 0xFFFF else b""
    rc = xdp_copy(p, offset & 0xFFFF_FFFF, length, data)
    return neg(-rc) if isinstance(rc, int) and rc else 0


# ---- redirect through maps, stacks, task, misc -----------------------------------------
@helper(H.redirect_map)
def redirect_map(run: Run, map_, key, flags, *_):
    m = get_map(run, map_)
    present = getattr(m, "present", None)
    if present is None:
        raise RuntimeFault(f"bpf_redirect_map on map {m.name} ({m.type.name}), which is not a "
                           "DEVMAP/DEVMAP_HASH/CPUMAP/XSKMAP")
    # as the kernel's __bpf_xdp_redirect_map: the two low bits are the action when
    # the key is missing; devmaps also take BPF_F_BROADCAST / BPF_F_EXCLUDE_INGRESS
    # (a broadcast goes to every entry, so a missing key does not matter); any
    # other bit aborts
    devmap = m.type in (MapType.DEVMAP, MapType.DEVMAP_HASH)
    allowed = 3 | (BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS if devmap else 0)
    flags &= 0xFFFF_FFFF_FFFF_FFFF
    if flags & ~allowed:
        return XDP_ABORTED
    target = present((key & 0xFFFF_FFFF).to_bytes(4, "little")[:m.key_size])
    if flags & BPF_F_BROADCAST:
        run.redirect = Redirect(0, flags, m.name)  # ifindex 0: every entry of the map
        return XDP_REDIRECT
    if target is None:
        return flags & 3
    run.redirect = Redirect(target, flags, m.name)
    return XDP_REDIRECT
