"""RINGBUF and PERF_EVENT_ARRAY: records for user space."""

from __future__ import annotations

import errno
import os
import select
import threading
from collections import deque
from typing import Any

from ...errors import MapError
from ...spec import MapSpec
from .base import ENOTSUPP, VMMap, _round8


# ---------------------------------------------------------------------------
# ring buffer and perf event array
# ---------------------------------------------------------------------------
class _Notifier:
    """Wakes a consumer: an eventfd where Linux has one, else a condition."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.fd: int | None = None
        if hasattr(os, "eventfd"):
            self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)

    def notify(self) -> None:
        with self.cond:
            self.cond.notify_all()
        if self.fd is not None:
            try:
                os.eventfd_write(self.fd, 1)
            except OSError:
                pass

    def drain(self) -> None:
        if self.fd is not None:
            try:
                os.eventfd_read(self.fd)
            except OSError:
                pass

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class RecordConsumer:
    """What ``map._ring_consumer()`` gives ``ebpf.RingBuffer``/``ebpf.PerfBuffer``:
    ``wait(timeout)``, ``read()`` (records available now, consumed),
    ``fileno()`` (an eventfd that becomes readable on new records, or None), ``close()``."""

    def __init__(self, source: _RecordMap):
        self.source = source
        self.notifier = _Notifier()
        source._consumers.append(self)

    def fileno(self) -> int | None:
        return self.notifier.fd

    def wait(self, timeout: float | None = None) -> bool:
        """True once records are available (False on timeout)."""
        if self.source.pending():
            return True
        if self.notifier.fd is not None:
            r, _, _ = select.select([self.notifier.fd], [], [], timeout)
            self.notifier.drain()
            return self.source.pending()
        with self.notifier.cond:
            self.notifier.cond.wait_for(self.source.pending, timeout)
        return self.source.pending()

    def read(self) -> list[bytes]:
        self.notifier.drain()
        return self.source.take()

    def close(self) -> None:
        try:
            self.source._consumers.remove(self)
        except ValueError:
            pass
        self.notifier.close()


class _RecordMap(VMMap):
    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.records: deque[bytes] = deque()
        self._consumers: list[RecordConsumer] = []

    def pending(self) -> bool:
        return bool(self.records)

    def take(self) -> list[bytes]:
        with self._lock:
            out = list(self.records)
            self.records.clear()
            self._taken(out)
            return out

    def _taken(self, records: list[bytes]) -> None:
        pass

    def _wake(self) -> None:
        for c in list(self._consumers):
            c.notifier.notify()

    def _ring_consumer(self, page_count: int = 8) -> RecordConsumer:
        """The record consumer (``page_count``, the kernel's mmap size, means nothing here)."""
        return RecordConsumer(self)

    def _release(self) -> None:
        for c in list(self._consumers):
            c.close()

    def lookup_bytes(self, key: bytes) -> bytes | None:
        return None

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        return None


#: BPF_RB_* flags and ringbuf_query selectors
BPF_RB_NO_WAKEUP = 1
BPF_RB_FORCE_WAKEUP = 2
RB_HDR = 8


class RingSlot:
    """One record of a ring buffer: reserved (busy), then submitted or discarded."""

    __slots__ = ("size", "cost", "data", "state")
    BUSY, SUBMITTED, DISCARDED = range(3)

    def __init__(self, size: int, cost: int):
        self.size = size
        self.cost = cost
        self.data: bytes | None = None
        self.state = RingSlot.BUSY


class RingBufMap(_RecordMap):
    """RINGBUF: records reserved/submitted by programs, read by ebpf.RingBuffer.

    Positions and space are counted as the kernel does (8-byte header + data
    rounded to 8 per record): a reservation fails when the producer would get a
    whole buffer ahead of the consumer; discarded records keep their space until
    the consumer passes them; readers stop at a record still reserved."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.slots: deque[RingSlot] = deque()
        self.cons_pos = 0
        self.prod_pos = 0

    @staticmethod
    def cost(size: int) -> int:
        return RB_HDR + _round8(size)

    def reserve(self, size: int) -> RingSlot | None:
        with self._lock:
            c = self.cost(size)
            if c > self.max_entries or self.prod_pos + c - self.cons_pos > self.max_entries - 1:
                return None
            self.prod_pos += c
            slot = RingSlot(size, c)
            self.slots.append(slot)
            return slot

    def commit(self, slot: RingSlot, data: bytes | None, flags: int) -> None:
        """Submit (``data``) or discard (None) a reserved record."""
        with self._lock:
            slot.data = data
            slot.state = RingSlot.DISCARDED if data is None else RingSlot.SUBMITTED
        if data is not None and not flags & BPF_RB_NO_WAKEUP:
            self._wake()

    def pending(self) -> bool:
        with self._lock:
            for slot in self.slots:
                if slot.state == RingSlot.BUSY:
                    return False
                if slot.state == RingSlot.SUBMITTED:
                    return True
            return False

    def take(self) -> list[bytes]:
        out: list[bytes] = []
        with self._lock:
            while self.slots and self.slots[0].state != RingSlot.BUSY:
                slot = self.slots.popleft()
                self.cons_pos += slot.cost
                if slot.state == RingSlot.SUBMITTED and slot.data is not None:
                    out.append(slot.data)
        return out

    def avail_data(self) -> int:
        with self._lock:
            return self.prod_pos - self.cons_pos


class PerfEventArrayMap(_RecordMap):
    """PERF_EVENT_ARRAY: bpf_perf_event_output records (per CPU; read in order)."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.cpu_of: deque[int] = deque()

    def output(self, cpu: int, data: bytes) -> int:
        if not self._consumers:
            # no perf event behind the slot (nobody opened a PerfBuffer): -ENOENT
            return -errno.ENOENT
        # the kernel pads a raw sample so that size + its u32 length is 8-aligned
        data = data + bytes((-(len(data) + 4)) % 8)
        with self._lock:
            self.records.append(data)
        self._wake()
        return 0

    def encode_value(self, value: Any) -> bytes:
        return int(value if isinstance(value, int) else 0).to_bytes(4, "little")

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        raise MapError(f"lookup in map {self.name}: perf event array values cannot be read "
                       "from user space (the kernel answers ENOTSUPP)", ENOTSUPP)

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        # every index is a key, as the kernel's array iteration (which restarts
        # at 0 after a key past the end)
        i = int.from_bytes(key[:4], "little") + 1 if key is not None else 0
        i = 0 if i > self.max_entries else i
        return i.to_bytes(4, "little") if i < self.max_entries else None
