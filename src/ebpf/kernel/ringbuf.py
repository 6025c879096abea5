"""Consuming a kernel BPF_MAP_TYPE_RINGBUF map through mmap.

Layout the kernel exposes on the map fd (facts from the kernel's ring buffer ABI):

* offset 0, one page, read-write: the consumer position (u64 at byte 0);
* offset one page, read-only: the producer position page (u64 at byte 0), followed
  by the data area of ``max_entries`` bytes mapped *twice* in a row, so a record
  that wraps around the end can be read as one contiguous slice.

Each record starts with an 8-byte header: u32 length whose bit 31 is BUSY (the
producer has reserved but not committed it yet) and bit 30 DISCARD (skip it),
then u32 page offset. Records are padded to 8 bytes. We read records while the
consumer is behind the producer and stop at the first BUSY one; after the batch
the new consumer position is stored (a single aligned 8-byte store, which is
what the kernel needs to see: it reads it with acquire semantics).

The map fd itself is pollable: epoll reports it readable when data is there.
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import operator
import os
import select
import struct
import time
from typing import Literal, overload

from .._internal.closeable import ClosedWhenCollected
from ..errors import MapError, SystemCallError
from ..recordbatch import RecordBatch
from ..uapi.consts import BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT, BPF_RINGBUF_HDR_SZ

log = logging.getLogger("ebpf.kernel.ringbuf")

BUSY_BIT = BPF_RINGBUF_BUSY_BIT
DISCARD_BIT = BPF_RINGBUF_DISCARD_BIT
HDR_SIZE = BPF_RINGBUF_HDR_SZ
PAGE_SIZE = mmap.PAGESIZE
_FLAG_BITS = BUSY_BIT | DISCARD_BIT
_U32 = struct.Struct("<I")


_first = operator.itemgetter(0)


def _cut(chunk: bytes, starts: range | list[int], length: int) -> list[bytes]:
    """Records of one ``length`` out of ``chunk``; at a fixed stride, one
    ``struct.iter_unpack`` makes them all (about twice as fast as slicing)."""
    if isinstance(starts, range) and len(starts) > 1:
        step = struct.Struct(f"{length}s{starts.step - length}x")
        body = memoryview(chunk)[starts.start:starts.start + starts.step * (len(starts) - 1)]
        out = list(map(_first, step.iter_unpack(body)))
        out.append(chunk[starts[-1]:starts[-1] + length])
        return out
    return [chunk[s:s + length] for s in starts]


class KernelRingConsumer(ClosedWhenCollected):
    """The ring-consumer protocol (see :mod:`ebpf.ringbuf`) over a kernel ringbuf
    map fd. Does not own the fd: the map does."""

    def __init__(self, map_fd: int, size: int, name: str = "ringbuf"):
        if size <= 0 or size & (size - 1) or size % PAGE_SIZE:
            raise MapError(f"ring buffer {name}: size {size} is not a power-of-2 multiple "
                           f"of the page size {PAGE_SIZE}")
        self.name = name
        self._fd = map_fd
        self.size = size
        self._mask = size - 1
        try:
            self._cons_mm: mmap.mmap | None = mmap.mmap(map_fd, PAGE_SIZE, mmap.MAP_SHARED,
                                      mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        except OSError as e:
            raise SystemCallError(f"mmap of ring buffer {name} consumer page", e.errno) from None
        try:
            self._data_mm = mmap.mmap(map_fd, PAGE_SIZE + 2 * size, mmap.MAP_SHARED,
                                      mmap.PROT_READ, offset=PAGE_SIZE)
        except OSError as e:
            self._cons_mm.close()
            raise SystemCallError(f"mmap of ring buffer {name} data pages", e.errno) from None
        self._cons = ctypes.c_uint64.from_buffer(self._cons_mm)
        # read-only mmap: ctypes cannot from_buffer it; use a memoryview for data
        self._view = memoryview(self._data_mm)
        self._prod_view = self._view[0:8].cast("Q")
        self._hdr_view = self._view[PAGE_SIZE:PAGE_SIZE + 2 * size]
        self._epoll: select.epoll | None = None

    # ---- protocol ---------------------------------------------------------
    def fileno(self) -> int:
        """The map fd: pollable (EPOLLIN when records are there)."""
        return self._fd

    def pending(self) -> bool:
        """True when the producer is ahead of the consumer."""
        return self._prod_view[0] != self._cons.value

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a record may be there (or ``timeout`` s pass); True if so."""
        if self.pending():
            return True
        if self._epoll is None:
            self._epoll = select.epoll()
            self._epoll.register(self._fd, select.EPOLLIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = -1 if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                events = self._epoll.poll(remaining)
            except InterruptedError:
                events = []
            if events or self.pending():
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def read(self, limit: int | None = None) -> list[bytes]:
        """Consume and return every committed record available now (up to ``limit``).

        The bytes between consumer and producer are copied out in one go (the data
        area is mapped twice, so the span is contiguous) and cut into records; a
        record still BUSY in that snapshot ends the batch and is read next time.
        """
        if limit is None:
            return self._take(False)
        out: list[bytes] = []
        while len(out) < limit:
            chunk, starts, lengths, used = self._span(limit - len(out))
            if not starts:
                break
            if isinstance(lengths, int):
                out += _cut(chunk, starts, lengths)
            else:
                out += [chunk[s:s + n] for s, n in zip(starts, lengths, strict=True)]
            self._cons.value += used
        return out

    def read_batch(self, limit: int | None = None) -> RecordBatch:
        """Consume every committed record available now as one :class:`RecordBatch`
        (one copy of the ring's bytes; records are views of it)."""
        return self._take(True, limit)

    @overload
    def _take(self, batch: Literal[False], limit: int | None = None) -> list[bytes]: ...
    @overload
    def _take(self, batch: Literal[True], limit: int | None = None) -> RecordBatch: ...

    def _take(self, batch: bool, limit: int | None = None) -> list[bytes] | RecordBatch:
        chunk, starts, lengths, used = self._span(limit)
        if used:
            self._cons.value += used
        if batch:
            return RecordBatch(chunk, starts, lengths)
        if isinstance(lengths, int):
            return _cut(chunk, starts, lengths)
        return [chunk[s:s + n] for s, n in zip(starts, lengths, strict=True)]

    def _span(self, limit: int | None = None
              ) -> tuple[bytes, range | list[int], int | list[int], int]:
        """The committed records between consumer and producer, not yet consumed:
        (bytes copied from the ring, record starts in them, record length (one int
        when all are equal) or lengths, bytes of ring they use)."""
        cons = self._cons.value
        prod = self._prod_view[0]
        if cons >= prod:
            return b"", range(0), 0, 0
        base = cons & self._mask
        chunk = self._hdr_view[base:base + (prod - cons)].tobytes()
        end = len(chunk)
        (first,) = _U32.unpack_from(chunk, 0)
        if not first & _FLAG_BITS:
            # the common case: records of one size, all committed. Their headers sit
            # at a fixed stride; one look at all of them confirms it.
            slot = (first + HDR_SIZE + 7) & ~7
            n = end // slot
            if n * slot == end and (limit is None or n <= limit):
                # each byte of the length word, across all headers, in one strided copy
                hdr = chunk[:4]
                if all(chunk[i::slot] == hdr[i:i + 1] * n for i in range(4)):
                    return chunk, range(HDR_SIZE, end, slot), first, end
        starts: list[int] = []
        lengths: list[int] = []
        unpack = _U32.unpack_from
        pos = 0
        while pos < end:
            (length,) = unpack(chunk, pos)
            if length & _FLAG_BITS:
                if length & BUSY_BIT:
                    break
                real = length & ~_FLAG_BITS  # discarded: skip
            else:
                real = length
                starts.append(pos + HDR_SIZE)
                lengths.append(real)
            pos += (real + HDR_SIZE + 7) & ~7
            if limit is not None and len(starts) >= limit:
                break
        return chunk, starts, lengths, pos

    def available(self) -> int:
        """Bytes between consumer and producer (records not read yet)."""
        return self._prod_view[0] - self._cons.value

    def close(self) -> None:
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
        if self._cons_mm is None:
            return
        # drop exported buffers before unmapping
        del self._cons
        for v in (self._hdr_view, self._prod_view, self._view):
            v.release()
        self._data_mm.close()
        self._cons_mm.close()
        self._cons_mm = None


def consumer_for(m) -> KernelRingConsumer:
    """A consumer for kernel map ``m`` (needs ``m.fd`` and ``m.max_entries``)."""
    fd = m.fd
    try:
        os.fstat(fd)
    except OSError as e:
        raise MapError(f"ring buffer {m.name}: its fd {fd} is not open", e.errno) from None
    return KernelRingConsumer(fd, m.max_entries, m.name)


def user_ring_for(m):
    """The producer's view (:class:`ebpf.userringbuf.UserRingMemory`) of kernel
    USER_RINGBUF map ``m``: the consumer page mapped read-only at offset 0, the
    producer page and the data area (mapped twice in a row) read-write after it."""
    from ..userringbuf import UserRingMemory

    fd, size = m.fd, m.max_entries
    try:
        cons = mmap.mmap(fd, PAGE_SIZE, mmap.MAP_SHARED, mmap.PROT_READ, offset=0)
    except OSError as e:
        raise SystemCallError(f"mmap of user ring buffer {m.name} consumer page", e.errno) from None
    try:
        prod = mmap.mmap(fd, PAGE_SIZE + 2 * size, mmap.MAP_SHARED,
                         mmap.PROT_READ | mmap.PROT_WRITE, offset=PAGE_SIZE)
    except OSError as e:
        cons.close()
        raise SystemCallError(f"mmap of user ring buffer {m.name} data", e.errno) from None
    view = memoryview(prod)

    def close() -> None:
        view.release()
        prod.close()
        cons.close()

    return UserRingMemory(size, memoryview(cons), view[:8], view[PAGE_SIZE:],
                          fileno=lambda: fd, on_close=close)
