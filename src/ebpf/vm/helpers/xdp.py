"""XDP helpers: head/tail/meta adjustments, loads and stores, redirect through maps."""

from __future__ import annotations

import errno

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ...uapi import MapType
from ..run import Redirect, Run
from .packets import _packet, s32
from .table import XDP_ABORTED, XDP_REDIRECT, get_map, helper, neg

BPF_F_BROADCAST = 1 << 3
BPF_F_EXCLUDE_INGRESS = 1 << 4


@helper(H.xdp_adjust_head)
def xdp_adjust_head(run: Run, ctx, delta, *_):
    return neg(-_packet(run, "bpf_xdp_adjust_head").adjust_head(s32(delta)))


@helper(H.xdp_adjust_tail)
def xdp_adjust_tail(run: Run, ctx, delta, *_):
    return neg(-_packet(run, "bpf_xdp_adjust_tail").adjust_tail(s32(delta)))


@helper(H.xdp_adjust_meta)
def xdp_adjust_meta(run: Run, ctx, delta, *_):
    return neg(-_packet(run, "bpf_xdp_adjust_meta").adjust_meta(s32(delta)))


@helper(H.xdp_get_buff_len)
def xdp_get_buff_len(run: Run, ctx, *_):
    p = _packet(run, "bpf_xdp_get_buff_len")
    return p.end - p.data


@helper(H.xdp_load_bytes)
def xdp_load_bytes(run: Run, ctx, offset, to, length, *_):
    p = _packet(run, "bpf_xdp_load_bytes")
    chunk = p.read_at(offset & 0xFFFF_FFFF, length)
    if chunk is None:
        return neg(errno.EINVAL)
    run.mem.write(to, chunk)
    return 0


@helper(H.xdp_store_bytes)
def xdp_store_bytes(run: Run, ctx, offset, frm, length, *_):
    p = _packet(run, "bpf_xdp_store_bytes")
    data = run.mem.read(frm, length)
    return 0 if p.write_at(offset & 0xFFFF_FFFF, data) else neg(errno.EINVAL)


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
