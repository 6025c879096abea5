"""Ring buffer and perf event output."""

from __future__ import annotations

import errno

from ...errors import RuntimeFault
from ...uapi import HelperId as H
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
    pos = m.reserve(size)
    if pos is None:
        return 0
    addr = m.record_address(pos)
    run.reserved[addr] = (m, None, pos)
    return addr


def _commit(run: Run, data: int, flags: int, submit: bool) -> int:
    entry = run.reserved.pop(data, None)
    if entry is None:
        raise RuntimeFault(f"{'submit' if submit else 'discard'} of {data:#x}, which is not a "
                           "reserved ring buffer record")
    m, _, pos = entry
    m.commit(pos, submit, flags)
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
    return 0 if m.output(payload, flags) else neg(errno.EAGAIN)


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


# ---- perf counters ------------------------------------------------------------------
#: BPF_F_INDEX_MASK
_INDEX_MASK = 0xFFFF_FFFF
#: sizeof(struct bpf_perf_event_value)
PERF_EVENT_VALUE_SIZE = 24


def _perf_counter(run: Run, map_: int, flags: int) -> int:
    """-errno of reading the counter at a PERF_EVENT_ARRAY slot: the runtime's slots
    hold no hardware counters, so a good index finds none (-ENOENT)."""
    from ..maps import PerfEventArrayMap

    m = get_map(run, map_)
    if not isinstance(m, PerfEventArrayMap):
        raise RuntimeFault(f"map {m.name} is not a PERF_EVENT_ARRAY")
    if flags & ~_INDEX_MASK:
        return -errno.EINVAL
    index = run.cpu if flags & _INDEX_MASK == BPF_F_CURRENT_CPU else flags & _INDEX_MASK
    if index >= m.max_entries:
        return -errno.E2BIG
    return -errno.ENOENT


@helper(H.perf_event_read)
def perf_event_read(run: Run, map_, flags, *_):
    return neg(-_perf_counter(run, map_, flags))


@helper(H.perf_event_read_value)
def perf_event_read_value(run: Run, map_, flags, buf, size, *_):
    size &= 0xFFFF_FFFF
    err = -errno.EINVAL if size != PERF_EVENT_VALUE_SIZE else _perf_counter(run, map_, flags)
    run.mem.zero(buf, size)
    return neg(-err)
