"""Reading events from perf event arrays: :class:`PerfBuffer`.

>>> import ebpf  # doctest: +SKIP
>>> with ebpf.load("prog.bpf.o") as obj:  # doctest: +SKIP
...     obj.attach()
...     pb = ebpf.PerfBuffer(obj.maps["events"], lost_callback=print)
...     for rec in pb.poll(timeout=1.0):
...         print(rec)

On the kernel backend each CPU gets a PERF_COUNT_SW_BPF_OUTPUT event with an
mmap ring of ``page_count`` pages (a power of 2), stored at ``map[cpu]``. Records
come back as bytes (the raw sample, padded by the kernel to 8-byte alignment
minus 4) or decoded as with :class:`ebpf.RingBuffer`. Records the kernel had to
drop because a ring was full are counted in ``lost`` and reported to
``lost_callback(count)``. Maps of other backends are read through their
``_ring_consumer()`` (protocol in :mod:`ebpf.ringbuf`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import MapError, NotSupportedError
from .ringbuf import Poller
from .uapi import MapType


def perf_consumer(map: Any, page_count: int = 8) -> Any:
    """The consumer for perf event array ``map`` on whichever backend made it."""
    if getattr(map, "type", None) != MapType.PERF_EVENT_ARRAY:
        raise MapError(f"map {getattr(map, 'name', map)!r} is not a PERF_EVENT_ARRAY map")
    make = getattr(map, "_ring_consumer", None)
    if make is None:
        raise NotSupportedError("perf buffers", detail=f"map {getattr(map, 'name', map)!r} "
                                f"of backend {getattr(map, 'backend', '?')!r} has no "
                                "_ring_consumer()")
    return make(page_count=page_count)


class PerfBuffer(Poller):
    """Records from a ``BPF_MAP_TYPE_PERF_EVENT_ARRAY`` map.

    ``poll(timeout)`` returns a list of records; iterating blocks for the next;
    ``callback(record)`` and ``lost_callback(count)`` are called as they come.
    """

    def __init__(self, map: Any, page_count: int = 8,
                 callback: Callable[[Any], Any] | None = None,
                 lost_callback: Callable[[int], Any] | None = None, decode: Any = None):
        super().__init__()
        self.page_count = page_count
        try:
            self.add(map, callback, decode, lost_callback=lost_callback)
        except BaseException:
            self.close()
            raise
        self.map = map

    def add(self, map: Any, callback: Callable[[Any], Any] | None = None, decode: Any = None,
            *, lost_callback: Callable[[int], Any] | None = None,
            page_count: int | None = None) -> PerfBuffer:
        if getattr(map, "type", None) != MapType.PERF_EVENT_ARRAY:
            raise MapError(f"PerfBuffer needs a PERF_EVENT_ARRAY map; "
                           f"{getattr(map, 'name', map)!r} is "
                           f"{getattr(getattr(map, 'type', None), 'name', type(map).__name__)}")
        super().add(map, callback, decode, lost_callback=lost_callback,
                    page_count=page_count or self.page_count)
        return self

    def __repr__(self) -> str:
        return f"<PerfBuffer {', '.join(s.name for s in self._sources)} lost={self.lost}>"


__all__ = ["PerfBuffer", "perf_consumer"]
