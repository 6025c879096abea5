"""Records for user space: what RINGBUF and PERF_EVENT_ARRAY share (consumers,
wakeups), and PERF_EVENT_ARRAY."""

from __future__ import annotations

import errno
import os
import select
import threading
from collections import deque
from typing import Any

from ...errors import MapError
from ...spec import MapSpec
from .base import ENOTSUPP, VMMap


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

    def take_lost(self) -> int:
        """Records dropped since the last call because the buffer was full."""
        return self.source.take_lost()

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

    def take_lost(self) -> int:
        return 0

    def _ring_consumer(self, page_count: int = 8) -> RecordConsumer:
        """The record consumer (``page_count``: see :class:`PerfEventArrayMap`)."""
        return RecordConsumer(self)

    def _release(self) -> None:
        for c in list(self._consumers):
            c.close()

    def lookup_bytes(self, key: bytes) -> bytes | None:
        return None

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        return None


#: bytes of a perf ring page
PAGE_SIZE = 4096
#: bytes a raw sample takes in a perf ring besides its data: perf_event_header, u32 size
PERF_SAMPLE_OVERHEAD = 8 + 4


class PerfEventArrayMap(_RecordMap):
    """PERF_EVENT_ARRAY: bpf_perf_event_output records (per CPU; read in order).

    Each CPU's ring holds ``page_count`` pages (the reader's ``PerfBuffer``
    size, 8 by default) of records not yet read, as the kernel's mmap'ed ring:
    an output that does not fit is dropped, counted as lost (a reader's
    ``lost_callback`` gets the count), and the program sees ``-ENOSPC``."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        #: bytes each CPU's ring may hold, and holds now
        self.capacity = 8 * PAGE_SIZE
        self.used: dict[int, int] = {}
        self.lost = 0

    def _ring_consumer(self, page_count: int = 8) -> RecordConsumer:
        self.capacity = max(1, page_count) * PAGE_SIZE
        return RecordConsumer(self)

    def output(self, cpu: int, data: bytes) -> int:
        if not self._consumers:
            # no perf event behind the slot (nobody opened a PerfBuffer): -ENOENT
            return -errno.ENOENT
        # the kernel pads a raw sample so that size + its u32 length is 8-aligned
        data = data + bytes((-(len(data) + 4)) % 8)
        cost = len(data) + PERF_SAMPLE_OVERHEAD
        with self._lock:
            used = self.used.get(cpu, 0)
            if used + cost > self.capacity:
                self.lost += 1
                return -errno.ENOSPC
            self.used[cpu] = used + cost
            self.records.append(data)
        self._wake()
        return 0

    def _taken(self, records: list[bytes]) -> None:
        self.used.clear()

    def take_lost(self) -> int:
        with self._lock:
            lost, self.lost = self.lost, 0
        return lost

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
