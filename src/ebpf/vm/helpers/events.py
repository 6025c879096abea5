"""Ring buffer and perf event output."""

from __future__ import annotations

import errno

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ..memory import SCRATCH_BASE, Region
from ..run import Run
from .table import BPF_F_CURRENT_CPU, HELPERS, get_map, helper, neg


# ---- ring buffer, perf events -------------------------------------------------------
def _ringbuf(run: Run, addr: int):
    from ..maps import RingBufMap

    m = get_map(run, addr)
    if not isinstance(m, RingBufMap):
        raise RuntimeFault(f"map {m.name} is not a RINGBUF")
    return m


@helper(H.ringbuf_reserve)
def ringbuf_reserve(run: Run, map_, size, flags, *_):
    m = _ringbuf(run, map_)
    if flags:
        return 0
    slot = m.reserve(size)
    if slot is None:
        return 0
    base = run.extra.get("rb_next", SCRATCH_BASE)
    run.extra["rb_next"] = base + ((size + 4095 + 64) & ~4095)
    region = run.mem.add_local(Region(base, bytearray(max(size, 1)), f"ringbuf {m.name} record",
                                      size=size))
    run.reserved[base] = (m, region, slot)
    return base


def _commit(run: Run, data: int, flags: int, submit: bool) -> int:
    entry = run.reserved.pop(data, None)
    if entry is None:
        raise RuntimeFault(f"{'submit' if submit else 'discard'} of {data:#x}, which is not a "
                           "reserved ring buffer record")
    m, region, slot = entry
    run.mem.remove_local(region)
    m.commit(slot, bytes(region.buf[:region.size]) if submit else None, flags)
    return 0


@helper(H.ringbuf_submit)
def ringbuf_submit(run: Run, data, flags, *_):
    return _commit(run, data, flags, True)


@helper(H.ringbuf_discard)
def ringbuf_discard(run: Run, data, flags, *_):
    return _commit(run, data, flags, False)


@helper(H.ringbuf_output)
def ringbuf_output(run: Run, map_, data, size, flags, *_):
    m = _ringbuf(run, map_)
    payload = run.mem.read(data, size)
    if flags & ~3:
        return neg(errno.EINVAL)
    slot = m.reserve(size)
    if slot is None:
        return neg(errno.EAGAIN)
    m.commit(slot, payload, flags)
    return 0


@helper(H.ringbuf_query)
def ringbuf_query(run: Run, map_, flags, *_):
    m = _ringbuf(run, map_)
    return {0: m.avail_data(), 1: m.max_entries, 2: m.cons_pos, 3: m.prod_pos}.get(flags, 0)


@helper(H.perf_event_output)
def perf_event_output(run: Run, ctx, map_, flags, data, size):
    from ..maps import PerfEventArrayMap

    m = get_map(run, map_)
    if not isinstance(m, PerfEventArrayMap):
        raise RuntimeFault(f"map {m.name} is not a PERF_EVENT_ARRAY")
    index = flags & 0xFFFF_FFFF
    if flags >> 32 & ~0xFFFFF:
        return neg(errno.EINVAL)
    cpu = run.cpu if index == BPF_F_CURRENT_CPU else index
    if cpu >= m.max_entries:
        return neg(errno.E2BIG)
    payload = run.mem.read(data, size)
    ctx_len = (flags >> 32) & 0xFFFFF
    if ctx_len and run.packet is not None:
        payload += run.packet.data_bytes()[:ctx_len]
    return neg(-m.output(cpu, payload))


HELPERS[int(H.xdp_output)] = perf_event_output
HELPERS[int(H.skb_output)] = perf_event_output
