"""Consuming a kernel BPF_MAP_TYPE_PERF_EVENT_ARRAY through per-CPU perf rings.

For each CPU we open a PERF_COUNT_SW_BPF_OUTPUT software event with
PERF_SAMPLE_RAW, mmap one metadata page plus ``page_count`` data pages, and store
the event fd at ``map[cpu]``; ``bpf_perf_event_output(ctx, &map, BPF_F_CURRENT_CPU,
data, size)`` then writes PERF_RECORD_SAMPLE records into that CPU's ring.

The metadata page (struct perf_event_mmap_page, layout generated in
:mod:`ebpf.uapi.contexts`) has ``data_head`` (written by the kernel) and
``data_tail`` (written by us), and on kernels since 4.1 ``data_offset``/``data_size``. Records start with
``{u32 type; u16 misc; u16 size}``; a SAMPLE carries ``u32 size`` then the raw
bytes, a LOST record ``u64 id; u64 lost``. Records may wrap around the end of
the data area (it is mapped once), so they are copied in two parts then.
"""

from __future__ import annotations

import logging
import mmap
import select
import struct
import time

from ..errors import MapError, SystemCallError
from ..uapi.contexts import PERF_EVENT_MMAP_PAGE
from . import perf

log = logging.getLogger("ebpf.kernel.perfbuf")

PAGE_SIZE = mmap.PAGESIZE
#: u64 indexes of data_head / data_tail in the metadata page
_HEAD = PERF_EVENT_MMAP_PAGE.offset("data_head") // 8
_TAIL = PERF_EVENT_MMAP_PAGE.offset("data_tail") // 8
_HDR = struct.Struct("<IHH")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_LOST = struct.Struct("<QQ")


class _CPURing:
    def __init__(self, cpu: int, fd: int, page_count: int):
        self.cpu = cpu
        self.fd = fd
        try:
            self.mm = mmap.mmap(fd, PAGE_SIZE * (1 + page_count), mmap.MAP_SHARED,
                                mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as e:
            raise SystemCallError(f"mmap of the perf ring of CPU {cpu} ({page_count} pages)",
                                  e.errno) from None
        self.view = memoryview(self.mm)
        self.meta = self.view[:PAGE_SIZE].cast("Q")  # u64 words of the metadata page
        data_offset = self.meta[1040 // 8]
        data_size = self.meta[1048 // 8]
        if not data_offset or not data_size:
            data_offset, data_size = PAGE_SIZE, PAGE_SIZE * page_count
        self.data = self.view[data_offset:data_offset + data_size]
        self.size = data_size

    def _copy(self, pos: int, n: int) -> bytes:
        start = pos % self.size
        end = start + n
        if end <= self.size:
            return bytes(self.data[start:end])
        return bytes(self.data[start:]) + bytes(self.data[:end - self.size])

    def read(self, out: list[bytes]) -> int:
        """Append raw samples to ``out``; returns the number of lost records reported."""
        head = self.meta[_HEAD]
        tail = self.meta[_TAIL]
        lost = 0
        while tail < head:
            rtype, _misc, rsize = _HDR.unpack(self._copy(tail, 8))
            if rsize < 8:
                log.error("perf ring of CPU %d: corrupt record of size %d; resetting",
                          self.cpu, rsize)
                tail = head
                break
            if rtype == perf.RECORD_SAMPLE:
                body = self._copy(tail + 8, rsize - 8)
                (raw_size,) = _U32.unpack_from(body, 0)
                out.append(body[4:4 + raw_size])
            elif rtype == perf.RECORD_LOST:
                body = self._copy(tail + 8, 16)
                lost += _LOST.unpack(body)[1]
            tail += rsize
        self.meta[_TAIL] = tail
        return lost

    def pending(self) -> bool:
        return self.meta[_HEAD] != self.meta[_TAIL]

    def close(self) -> None:
        for v in (self.data, self.meta, self.view):
            v.release()
        self.mm.close()
        perf.close_quietly(self.fd)


class KernelPerfConsumer:
    """The ring-consumer protocol (see :mod:`ebpf.ringbuf`) over a kernel perf
    event array: one perf ring per CPU, one epoll fd for all of them."""

    def __init__(self, perf_map, page_count: int = 8, cpus: list[int] | None = None):
        if page_count <= 0 or page_count & (page_count - 1):
            raise MapError(f"perf buffer {perf_map.name}: page_count must be a power of 2, "
                           f"not {page_count}")
        self.map = perf_map
        self.name = perf_map.name
        self._rings: list[_CPURing] = []
        self._lost = 0
        self._epoll: select.epoll | None = select.epoll()
        cpus = perf.online_cpus() if cpus is None else cpus
        limit = perf_map.max_entries
        try:
            for cpu in cpus:
                if cpu >= limit:
                    log.warning("perf buffer %s: max_entries=%d leaves CPU %d unread",
                                self.name, limit, cpu)
                    continue
                attr = perf.PerfEventAttr.software(perf.SW_BPF_OUTPUT, sample_period=1,
                                                   sample_type=perf.SAMPLE_RAW, wakeup_events=1)
                fd = perf.perf_event_open(attr, pid=-1, cpu=cpu,
                                          what=f"perf buffer {self.name} CPU {cpu}")
                try:
                    ring = _CPURing(cpu, fd, page_count)
                except BaseException:
                    perf.close_quietly(fd)
                    raise
                self._rings.append(ring)
                self._epoll.register(fd, select.EPOLLIN)
                perf_map.update_bytes(cpu.to_bytes(4, "little"), fd.to_bytes(4, "little"))
                perf.enable(fd)
        except BaseException:
            self.close()
            raise

    def _live_epoll(self) -> select.epoll:
        if self._epoll is None:
            raise MapError(f"perf buffer {self.name} is closed")
        return self._epoll

    def fileno(self) -> int:
        return self._live_epoll().fileno()

    def wait(self, timeout: float | None = None) -> bool:
        if any(r.pending() for r in self._rings):
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = -1 if deadline is None else max(0.0, deadline - time.monotonic())
            if self._live_epoll().poll(remaining) or any(r.pending() for r in self._rings):
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def read(self) -> list[bytes]:
        out: list[bytes] = []
        for ring in self._rings:
            self._lost += ring.read(out)
        return out

    def take_lost(self) -> int:
        n, self._lost = self._lost, 0
        return n

    def close(self) -> None:
        for ring in self._rings:
            try:
                if not getattr(self.map, "closed", False) and not getattr(self.map, "_closed", False):
                    self.map.delete_bytes(ring.cpu.to_bytes(4, "little"))
            except Exception as e:  # noqa: BLE001 - best effort
                log.debug("perf buffer %s: clearing CPU %d: %s", self.name, ring.cpu, e)
            ring.close()
        self._rings.clear()
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
