"""Writing records for programs to drain: :class:`UserRingBuffer`, the producer of a
``BPF_MAP_TYPE_USER_RINGBUF`` map (libbpf's ``user_ring_buffer__reserve/submit``).

>>> import ebpf  # doctest: +SKIP
>>> with ebpf.load("prog.bpf.o") as obj, ebpf.UserRingBuffer(obj.maps["requests"]) as urb:  # doctest: +SKIP
...     urb.write(b"hello")                       # reserve, copy, submit
...     sample = urb.reserve(16)                  # a writable memoryview of 16 bytes
...     sample[:4] = b"\\x01\\0\\0\\0"
...     urb.submit(sample)                        # or urb.discard(sample)
...     obj.programs["drain"].test_run()          # bpf_user_ringbuf_drain() sees both

It works on a map of either backend. The ring has the kernel's layout: records
of an 8-byte header (u32 length whose bit 31 is BUSY while reserved and bit 30
DISCARD once discarded) and the data, 8-byte aligned, between a consumer
position the kernel advances and a producer position this class advances.
A reservation fails as libbpf's: :class:`ebpf.MapFullError` with ``E2BIG`` when
the record could never fit, ``ENOSPC`` when the ring has no room now. Records
are drained in reservation order; a drain stops at a record still reserved.

**The producer protocol.** Every backend's maps give ``map._user_ring()`` a
:class:`UserRingMemory`: the two positions and the data area, shared with the
consumer (the kernel's through mmap).
"""

from __future__ import annotations

import errno
import select
import struct
import time
from collections.abc import Callable
from typing import Any

from .errors import MapError, MapFullError, NotSupportedError
from .uapi import MapType

BUSY_BIT = 1 << 31
DISCARD_BIT = 1 << 30
HDR_SIZE = 8
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class UserRingMemory:
    """A user ring buffer as its producer sees it: the consumer position (read
    only), the producer position, and the data area (at least ``size`` bytes
    readable past any record start, as the kernel's double mapping gives)."""

    def __init__(self, size: int, consumer: memoryview, producer: memoryview, data: memoryview,
                 *, fileno: Callable[[], int | None] | None = None,
                 on_close: Callable[[], None] | None = None):
        self.size = size
        self._cons = consumer
        self._prod = producer
        self.data = data
        self._fileno = fileno
        self._on_close = on_close

    def consumer_pos(self) -> int:
        return _U64.unpack_from(self._cons, 0)[0]

    def producer_pos(self) -> int:
        return _U64.unpack_from(self._prod, 0)[0]

    def set_producer_pos(self, pos: int) -> None:
        _U64.pack_into(self._prod, 0, pos)

    def fileno(self) -> int | None:
        """An fd that polls writable when the consumer has freed space (or None)."""
        return self._fileno() if self._fileno is not None else None

    def close(self) -> None:
        for v in (self._cons, self._prod, self.data):
            v.release()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None


class UserRingBuffer:
    """The producer of a USER_RINGBUF map (one per ring at a time, as libbpf's)."""

    def __init__(self, map_: Any):
        if getattr(map_, "type", None) != MapType.USER_RINGBUF:
            raise NotSupportedError("user ring buffer producer",
                                    detail=f"map {getattr(map_, 'name', map_)!r} is not a "
                                           "USER_RINGBUF map")
        self.map = map_
        self._mem: UserRingMemory | None = map_._user_ring()
        self._mask = self._mem.size - 1
        #: reserved samples not yet submitted or discarded: id(view) -> (header offset, view)
        self._pending: dict[int, tuple[int, memoryview]] = {}

    def _ring(self) -> UserRingMemory:
        if self._mem is None:
            raise MapError(f"user ring buffer {self.map.name} is closed", errno.EBADF)
        return self._mem

    def reserve(self, size: int) -> memoryview:
        """A writable view of ``size`` bytes in the ring, reserved (BUSY) until
        :meth:`submit` or :meth:`discard`."""
        mem = self._ring()
        if not 0 <= size < 1 << 30:
            raise MapError(f"user ring buffer {self.map.name}: sample of {size} bytes", errno.EINVAL)
        total = (size + HDR_SIZE + 7) & ~7
        cons, prod = mem.consumer_pos(), mem.producer_pos()
        if total > mem.size:
            raise MapFullError(f"user ring buffer {self.map.name}: a {size}-byte sample can never "
                               f"fit ({mem.size} bytes)", errno.E2BIG)
        if mem.size - (prod - cons) < total:
            raise MapFullError(f"user ring buffer {self.map.name}: no room for a {size}-byte "
                               "sample now", errno.ENOSPC)
        off = prod & self._mask
        _U32.pack_into(mem.data, off, size | BUSY_BIT)
        _U32.pack_into(mem.data, off + 4, 0)
        mem.set_producer_pos(prod + total)
        view = mem.data[off + HDR_SIZE:off + HDR_SIZE + size]
        self._pending[id(view)] = (off, view)
        return view

    def reserve_blocking(self, size: int, timeout: float) -> memoryview:
        """Like :meth:`reserve`, waiting up to ``timeout`` seconds for room."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.reserve(size)
            except MapFullError as e:
                left = deadline - time.monotonic()
                if e.errno != errno.ENOSPC or left <= 0:
                    raise
            fd = self._ring().fileno()
            if fd is not None:
                select.select([], [fd], [], min(left, 0.05))
            else:
                time.sleep(min(left, 0.005))

    def _commit(self, sample: memoryview, discard: bool) -> None:
        mem = self._ring()
        entry = self._pending.pop(id(sample), None)
        if entry is None or entry[1] is not sample:
            raise MapError(f"user ring buffer {self.map.name}: that view is not a reserved "
                           "sample of this buffer", errno.EINVAL)
        off, view = entry
        length = _U32.unpack_from(mem.data, off)[0] & ~BUSY_BIT
        view.release()
        _U32.pack_into(mem.data, off, length | (DISCARD_BIT if discard else 0))

    def submit(self, sample: memoryview) -> None:
        """Make a reserved sample visible to ``bpf_user_ringbuf_drain``."""
        self._commit(sample, False)

    def discard(self, sample: memoryview) -> None:
        """Give up a reserved sample (drains skip it)."""
        self._commit(sample, True)

    def write(self, data: bytes) -> None:
        """Reserve, copy ``data`` and submit: one sample."""
        view = self.reserve(len(data))
        view[:] = data
        self.submit(view)

    def close(self) -> None:
        """Discard every sample still reserved and unmap the ring."""
        if self._mem is None:
            return
        for _, view in list(self._pending.values()):
            self.discard(view)
        self._mem.close()
        self._mem = None

    def __enter__(self) -> UserRingBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass


__all__ = ["BUSY_BIT", "DISCARD_BIT", "HDR_SIZE", "UserRingBuffer", "UserRingMemory"]
