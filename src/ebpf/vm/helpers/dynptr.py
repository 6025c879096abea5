"""Dynamic pointers (``struct bpf_dynptr``) and the user ring buffer's drain.

A dynptr is 16 bytes the program owns (on its stack), laid out as the kernel's
``struct bpf_dynptr_kern``: the data address (u64), then a u32 holding the size
(low 24 bits), the type (bits 28-30) and read-only (bit 31), then a u32 offset.
Each helper checks what the kernel's checks: a null dynptr or unknown flags give
``-EINVAL``, an offset or length past the end ``-E2BIG``, ``bpf_dynptr_data``
NULL for those and for read-only dynptrs.

``bpf_user_ringbuf_drain`` hands each sample to the callback as a local dynptr
over the sample (the kernel builds it on its own stack; here it lives in a
16-byte region of the run), consumes it once the callback returns, and stops
when the callback returns 1, at the first sample still reserved, or after the
kernel's 128 Ki samples.
"""

from __future__ import annotations

import errno
import struct

from ...errors import RuntimeFault
from ...uapi import HelperId as H
from ..memory import SCRATCH_BASE, Region
from ..run import ITERATION_COST, Run
from .events import _commit, ringbuf_reserve
from .maps import _callback_slot
from .table import get_map, helper, neg

_DYNPTR = struct.Struct("<QII")
SIZE_MASK = 0xFF_FFFF
TYPE_SHIFT = 28
RDONLY_BIT = 1 << 31
#: the largest dynptr: DYNPTR_MAX_SIZE
MAX_SIZE = SIZE_MASK
#: enum bpf_dynptr_type
TYPE_LOCAL, TYPE_RINGBUF, TYPE_SKB, TYPE_XDP = 1, 2, 3, 4
#: BPF_MAX_USER_RINGBUF_SAMPLES
MAX_USER_RINGBUF_SAMPLES = 128 * 1024
_RB_WAKEUP_FLAGS = 1 | 2  # BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP
#: where the drain's dynptr lives
_DRAIN_DYNPTR = SCRATCH_BASE - 0x2000


def _get(run: Run, ptr: int) -> tuple[int, int, int, int, bool]:
    """(data, size, offset, type, read-only) of the dynptr at ``ptr``."""
    data, info, off = _DYNPTR.unpack(run.mem.read(ptr, 16))
    return data, info & SIZE_MASK, off, (info >> TYPE_SHIFT) & 7, bool(info & RDONLY_BIT)


def _init(run: Run, ptr: int, data: int, kind: int, size: int, rdonly: bool = False) -> None:
    info = size | kind << TYPE_SHIFT | (RDONLY_BIT if rdonly else 0)
    run.mem.write(ptr, _DYNPTR.pack(data, info, 0))


def _set_null(run: Run, ptr: int) -> None:
    run.mem.write(ptr, bytes(16))


def _check_off_len(size: int, offset: int, length: int) -> int:
    if offset > size or length > size - offset:
        return -errno.E2BIG
    return 0


@helper(H.dynptr_from_mem)
def dynptr_from_mem(run: Run, data, size, flags, ptr, *_):
    size &= 0xFFFF_FFFF
    if flags:
        err = errno.EINVAL
    elif size > MAX_SIZE:
        err = errno.E2BIG
    else:
        run.mem.region(data, size, what="dynptr memory") if size else None
        _init(run, ptr, data, TYPE_LOCAL, size)
        return 0
    _set_null(run, ptr)
    return neg(err)


def _copy(run: Run, ptr: int, offset: int, length: int, flags: int, buf: int,
          write: bool) -> int:
    """bpf_dynptr_read (``write`` false: ``length`` bytes at ``offset`` of the
    dynptr at ``ptr`` to ``buf``) or bpf_dynptr_write (from ``buf``), with the
    kernel's checks in its order: a null dynptr (or, reading, flags; writing, a
    read-only dynptr) -EINVAL, the bounds -E2BIG, then (writing) flags -EINVAL."""
    length &= 0xFFFF_FFFF
    offset &= 0xFFFF_FFFF
    data, size, off, kind, rdonly = _get(run, ptr)
    if not data or (rdonly if write else flags):
        return neg(errno.EINVAL)
    err = _check_off_len(size, offset, length)
    if err:
        return neg(-err)
    if kind not in (TYPE_LOCAL, TYPE_RINGBUF):
        raise RuntimeFault(f"bpf_dynptr_{'write to' if write else 'read of'} a dynptr of type "
                           f"{kind}, which the vm does not make")
    if flags:
        return neg(errno.EINVAL)
    at = data + off + offset
    if write:
        run.mem.write(at, run.mem.read(buf, length))
    else:
        run.mem.write(buf, run.mem.read(at, length))
    return 0


@helper(H.dynptr_read)
def dynptr_read(run: Run, dst, length, src, offset, flags):
    return _copy(run, src, offset, length, flags, dst, write=False)


@helper(H.dynptr_write)
def dynptr_write(run: Run, dst, offset, src, length, flags):
    return _copy(run, dst, offset, length, flags, src, write=True)


@helper(H.dynptr_data)
def dynptr_data(run: Run, ptr, offset, length, *_):
    length &= 0xFFFF_FFFF
    offset &= 0xFFFF_FFFF
    data, size, off, kind, rdonly = _get(run, ptr)
    if not data or _check_off_len(size, offset, length) or rdonly:
        return 0
    if kind not in (TYPE_LOCAL, TYPE_RINGBUF):
        return 0
    return data + off + offset


@helper(H.ringbuf_reserve_dynptr)
def ringbuf_reserve_dynptr(run: Run, map_, size, flags, ptr, *_):
    size &= 0xFFFF_FFFF
    if size > MAX_SIZE:
        err = errno.E2BIG
    elif flags:
        err = errno.EINVAL
    else:
        sample = ringbuf_reserve(run, map_, size, 0)
        if sample:
            _init(run, ptr, sample, TYPE_RINGBUF, size)
            return 0
        err = errno.EAGAIN
    _set_null(run, ptr)
    return neg(err)


def _commit_dynptr(run: Run, ptr: int, flags: int, submit: bool) -> int:
    data = _get(run, ptr)[0]
    if data:
        _commit(run, data, flags, submit)
        _set_null(run, ptr)
    return 0


@helper(H.ringbuf_submit_dynptr)
def ringbuf_submit_dynptr(run: Run, ptr, flags, *_):
    return _commit_dynptr(run, ptr, flags, True)


@helper(H.ringbuf_discard_dynptr)
def ringbuf_discard_dynptr(run: Run, ptr, flags, *_):
    return _commit_dynptr(run, ptr, flags, False)


@helper(H.user_ringbuf_drain)
def user_ringbuf_drain(run: Run, map_, callback, ctx, flags, *_):
    from ..maps import UserRingBufMap

    m = get_map(run, map_)
    if not isinstance(m, UserRingBufMap):
        raise RuntimeFault(f"bpf_user_ringbuf_drain on map {m.name}, which is not a USER_RINGBUF")
    if flags & ~_RB_WAKEUP_FLAGS:
        return neg(errno.EINVAL)
    slot = _callback_slot(run, callback)
    if m.busy:  # another drain is consuming (a callback draining the same ring)
        return neg(errno.EBUSY)
    m.busy = True
    region = run.mem.add_local(Region(_DRAIN_DYNPTR, bytearray(16), "user ringbuf dynptr"))
    samples = discarded = 0
    ret = 0
    failed = 0
    try:
        while samples < MAX_USER_RINGBUF_SAMPLES and ret == 0:
            cons = m.consumer_pos()
            err, off, length = m.peek()
            if err == -errno.ENODATA:
                break
            if err == -errno.EAGAIN:
                if m.consumer_pos() == cons:
                    # a sample still reserved: every remaining try finds it again
                    left = MAX_USER_RINGBUF_SAMPLES - samples
                    samples += left
                    discarded += left
                    break
                samples += 1
                discarded += 1
                continue
            if err:
                failed = err
                break
            _init(run, region.base, m.region.base + off, TYPE_LOCAL, length)
            run.spend(ITERATION_COST)
            ret = run.call_function(run.program.code, slot, (region.base, ctx))
            m.release(length)
            samples += 1
    finally:
        run.mem.remove_local(region)
        m.busy = False
    if flags & 2 or (not flags & 1 and samples > 0):
        m.wake_producer()
    return neg(-failed) if failed else samples - discarded
