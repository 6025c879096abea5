"""Reading events from ring buffers (and perf buffers): :class:`RingBuffer`, :class:`Poller`.

>>> import ebpf  # doctest: +SKIP
>>> with ebpf.load("prog.bpf.o") as obj:  # doctest: +SKIP
...     obj.attach()
...     rb = ebpf.RingBuffer(obj.maps["events"], decode="event")
...     for ev in rb.poll(timeout=1.0):
...         print(ev.pid, ev.comm)

A :class:`RingBuffer` works on a ``BPF_MAP_TYPE_RINGBUF`` map of either backend.
Records come back as ``bytes``, or decoded (``decode=``):

* a ``ctypes.Structure`` (or Union) class: ``cls.from_buffer_copy(record)``;
* ``"btf"``: the map's BTF value type (when the object declared one);
* any other string: a struct/union name looked up in the object's BTF
  (``"event"`` or ``"struct event"``), decoded to :class:`ebpf.Struct`;
* any callable: ``decode(record_bytes)``.

Several buffers can share one poller: ``rb.add(other_map, callback)``, or build a
:class:`Poller` and ``add()`` ring buffer and perf event array maps to it.
``poll()`` waits on all of them through one epoll fd (``fileno()``), which also
makes ``async for`` (asyncio) work.

**The ring-consumer protocol.** Every backend's maps provide
``map._ring_consumer()`` (the kernel's read the rings through mmap, see
:mod:`ebpf.kernel.ringbuf` and :mod:`ebpf.kernel.perfbuf`) returning an object with:

``fileno() -> int | None``
    an fd that polls readable when records may be there, or None (then we poll
    with ``wait``);
``wait(timeout: float | None) -> bool``
    block until records are there (True) or ``timeout`` seconds pass (False);
``read() -> list[bytes]``
    every record available now, consumed, in order;
``close() -> None``
    release what the consumer holds (not the map).

Optionally ``take_lost() -> int``: records dropped since the last call (perf
buffers report these to ``lost_callback``).
"""

from __future__ import annotations

import ctypes
import logging
import select
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._internal.closeable import ClosedWhenCollected
from .errors import MapError, NotSupportedError
from .recordbatch import RecordBatch
from .uapi import MapType

if TYPE_CHECKING:
    import asyncio

log = logging.getLogger("ebpf.ringbuf")

Decoder = Callable[[bytes], Any]
#: how often a poller without an fd for some consumer looks at it again (s)
_FALLBACK_TICK = 0.005


def _wake(fut: asyncio.Future) -> None:
    """Reader callback of :meth:`Poller.poll_async`: the fd became readable."""
    if not fut.done():
        fut.set_result(None)


def _btf_struct(btf: Any, name: str) -> Any:
    """Find struct/union ``name`` in a BTF spec."""
    bare = name
    for prefix in ("struct ", "union "):
        if bare.startswith(prefix):
            bare = bare[len(prefix):]
    getter = getattr(btf, "types_by_name", None)
    candidates = list(getter(bare)) if getter else []
    if not candidates:
        try:
            t = btf.type_by_name(bare)
            candidates = [t] if t is not None else []
        except Exception:  # noqa: BLE001 - BTFError or KeyError: not found
            candidates = []
    from . import btf as btfmod

    best = None
    for t in candidates:
        r = btfmod.resolve(t)
        if type(r).__name__ in ("Struct", "Union"):
            return r
        best = best or r
    if best is None:
        raise MapError(f"no type {name!r} in the object's BTF (clang only emits types that "
                       "functions or globals use; add e.g. `const struct "
                       f"{bare} *unused_{bare} __attribute__((unused));` or pass a ctypes "
                       "Structure)")
    return best


def make_decoder(decode: Any, map: Any = None) -> Decoder | None:
    """Turn a ``decode=`` argument into a function of the record bytes."""
    if decode is None:
        return None
    mname = getattr(map, "name", "?")
    if isinstance(decode, type) and issubclass(decode, (ctypes.Structure, ctypes.Union)):
        size = ctypes.sizeof(decode)
        cls = decode

        def from_ctypes(rec: bytes) -> Any:
            if len(rec) < size:
                raise MapError(f"ring buffer {mname}: record of {len(rec)} bytes is shorter "
                               f"than {cls.__name__} ({size} bytes)")
            return cls.from_buffer_copy(rec[:size] if len(rec) > size else rec)
        return from_ctypes
    if isinstance(decode, str):
        spec = getattr(map, "spec", None)
        if decode == "btf":
            btf_type = getattr(spec, "value_type", None)
            if btf_type is None:
                raise MapError(f"map {mname} has no BTF value type to decode records with; "
                               "pass decode='<struct name>' or a ctypes Structure")
        else:
            btf = getattr(spec, "btf", None)
            if btf is None:
                raise MapError(f"map {mname} carries no BTF to look up {decode!r} in; "
                               "pass a ctypes Structure instead")
            btf_type = _btf_struct(btf, decode)
        from . import btf as btfmod
        from . import codec

        size = btfmod.sizeof(btf_type)

        def from_btf(rec: bytes) -> Any:
            if len(rec) < size:
                raise MapError(f"ring buffer {mname}: record of {len(rec)} bytes is shorter "
                               f"than its type ({size} bytes)")
            return codec.decode(rec[:size], btf_type)
        return from_btf
    if callable(decode):
        return decode
    raise TypeError(f"decode= must be a ctypes Structure class, 'btf', a type name or a "
                    f"callable, not {decode!r}")


@dataclass
class _Source:
    consumer: Any
    name: str
    callback: Callable[[Any], Any] | None
    decoder: Decoder | None
    lost_callback: Callable[[int], Any] | None = None
    fd: int | None = None
    lost: int = 0


def ring_consumer(m: Any) -> Any:
    """The consumer for ring buffer map ``m`` on whichever backend made it."""
    if getattr(m, "type", None) != MapType.RINGBUF:
        raise MapError(f"map {getattr(m, 'name', m)!r} is a "
                       f"{getattr(getattr(m, 'type', None), 'name', '?')} map, not RINGBUF")
    make = getattr(m, "_ring_consumer", None)
    if make is None:
        raise NotSupportedError("ring buffers", detail=f"map {getattr(m, 'name', m)!r} of "
                                f"backend {getattr(m, 'backend', '?')!r} has no _ring_consumer()")
    return make()


class Poller(ClosedWhenCollected):
    """Waits on several event sources (ring buffers, perf buffers) at once.

    ``add(map, callback=None, decode=None)`` takes a RINGBUF or PERF_EVENT_ARRAY
    map. ``poll(timeout)`` returns the records of every source (decoded) and
    hands each to its source's callback, if any.
    """

    def __init__(self) -> None:
        self._sources: list[_Source] = []
        self._by_fd: dict[int, list[_Source]] = {}
        self._epoll: select.epoll | None = select.epoll()
        self._closed = False

    # ---- sources ------------------------------------------------------------
    def add(self, map: Any, callback: Callable[[Any], Any] | None = None, decode: Any = None,
            *, lost_callback: Callable[[int], Any] | None = None, page_count: int = 8) -> Poller:
        """Add a RINGBUF or PERF_EVENT_ARRAY map; returns self (chainable)."""
        mtype = getattr(map, "type", None)
        if mtype == MapType.PERF_EVENT_ARRAY:
            from .perfbuf import perf_consumer

            consumer = perf_consumer(map, page_count)
        else:
            consumer = ring_consumer(map)
        return self.add_consumer(consumer, callback, make_decoder(decode, map),
                                 name=getattr(map, "name", "?"), lost_callback=lost_callback)

    def add_consumer(self, consumer: Any, callback: Callable[[Any], Any] | None = None,
                     decoder: Decoder | None = None, *, name: str = "?",
                     lost_callback: Callable[[int], Any] | None = None) -> Poller:
        """Add anything that speaks the ring-consumer protocol (see the module docs)."""
        self._check_open()
        fd = consumer.fileno()
        src = _Source(consumer, name, callback, decoder, lost_callback, fd)
        if fd is not None:
            if fd not in self._by_fd:
                assert self._epoll is not None
                self._epoll.register(fd, select.EPOLLIN)
                self._by_fd[fd] = []
            self._by_fd[fd].append(src)
        self._sources.append(src)
        return self

    @property
    def sources(self) -> int:
        return len(self._sources)

    def _check_open(self) -> None:
        if self._closed:
            raise MapError(f"{type(self).__name__} is closed")

    # ---- reading ------------------------------------------------------------
    def _count_lost(self, src: _Source) -> None:
        take_lost = getattr(src.consumer, "take_lost", None)
        if take_lost is not None:
            lost = take_lost()
            if lost:
                src.lost += lost
                if src.lost_callback is not None:
                    src.lost_callback(lost)
                else:
                    log.warning("%s: %d events lost", src.name, lost)

    def _drain(self, sources: list[_Source]) -> list[Any]:
        out: list[Any] = []
        for src in sources:
            records = src.consumer.read()
            self._count_lost(src)
            if not records:
                continue
            if src.decoder is not None:
                records = [src.decoder(r) for r in records]
            if src.callback is not None:
                for r in records:
                    src.callback(r)
            out.extend(records)
        return out

    def read(self) -> list[Any]:
        """Every record available now, without waiting."""
        self._check_open()
        return self._drain(self._sources)

    def read_batch(self) -> RecordBatch:
        """Every record available now, without waiting, as one
        :class:`ebpf.RecordBatch`: raw records (no decoder, no callback) that share
        one buffer; ``.numpy(dtype)`` and ``.tuples(fmt)`` read fixed layouts whole.
        A kernel ring buffer fills it with one copy of its bytes."""
        self._check_open()
        batches = []
        for src in self._sources:
            native = getattr(src.consumer, "read_batch", None)
            batch = native() if native is not None else \
                RecordBatch.from_records(src.consumer.read())
            self._count_lost(src)
            if len(batch):
                batches.append(batch)
        if len(batches) == 1:
            return batches[0]
        return RecordBatch.from_records([r for b in batches for r in b.tolist()])

    def consume(self) -> list[Any]:
        """Every record available now, without waiting (same as :meth:`read`)."""
        return self.read()

    def poll(self, timeout: float | None = None) -> list[Any]:
        """Records available now, waiting up to ``timeout`` seconds (None: until
        there is one) when there are none yet."""
        self._check_open()
        if not self._sources:
            raise MapError(f"{type(self).__name__} has nothing to poll (add a map first)")
        out = self._drain(self._sources)
        if out:
            return out
        deadline = None if timeout is None else time.monotonic() + timeout
        fdless = [s for s in self._sources if s.fd is None]
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return self._drain(self._sources)
            if not self._by_fd and len(fdless) == 1:
                fdless[0].consumer.wait(remaining)
                out = self._drain(fdless)
            else:
                wait = -1 if remaining is None else remaining
                if fdless:
                    wait = _FALLBACK_TICK if wait < 0 else min(wait, _FALLBACK_TICK)
                assert self._epoll is not None
                try:
                    events = self._epoll.poll(wait)
                except InterruptedError:
                    events = []
                ready: list[_Source] = []
                for fd, _ev in events:
                    ready.extend(self._by_fd.get(fd, ()))
                out = self._drain(ready + fdless)
            if out:
                return out

    def __iter__(self) -> Iterator[Any]:
        """Yield records forever, blocking for each next one."""
        while not self._closed:
            yield from self.poll(None)

    def records(self, timeout: float) -> Iterator[Any]:
        """Yield records for ``timeout`` seconds, then stop."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            yield from self.poll(remaining)

    # ---- asyncio --------------------------------------------------------------
    async def poll_async(self, timeout: float | None = None) -> list[Any]:
        """Like :meth:`poll`, awaiting readiness on the event loop instead of blocking."""
        import asyncio

        self._check_open()
        out = self._drain(self._sources)
        if out:
            return out
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        have_fdless = any(s.fd is None for s in self._sources)
        while True:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return self._drain(self._sources)
            fut = loop.create_future()
            fd = self.fileno()
            loop.add_reader(fd, _wake, fut)
            try:
                wait = remaining
                if have_fdless:
                    wait = _FALLBACK_TICK if wait is None else min(wait, _FALLBACK_TICK)
                try:
                    await asyncio.wait_for(fut, wait)
                except TimeoutError:
                    pass
            finally:
                loop.remove_reader(fd)
            # consume epoll's readiness so the next wait does not spin
            assert self._epoll is not None
            self._epoll.poll(0)
            out = self._drain(self._sources)
            if out:
                return out

    async def __aiter__(self) -> AsyncIterator[Any]:
        while not self._closed:
            for rec in await self.poll_async(None):
                yield rec

    # ---- lifecycle ---------------------------------------------------------------
    def fileno(self) -> int:
        """The epoll fd: readable when some source has records."""
        self._check_open()
        assert self._epoll is not None
        return self._epoll.fileno()

    @property
    def lost(self) -> int:
        """Records lost so far (perf buffers report losses; ring buffers never lose
        what they accepted)."""
        return sum(s.lost for s in self._sources)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for src in self._sources:
            try:
                src.consumer.close()
            except Exception as e:  # noqa: BLE001 - keep releasing the rest
                log.warning("closing consumer of %s: %s", src.name, e)
        self._sources.clear()
        self._by_fd.clear()
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None


class RingBuffer(Poller):
    """Records from a ``BPF_MAP_TYPE_RINGBUF`` map (kernel or runtime backend).

    ``poll(timeout)`` returns a list of records; iterating blocks for the next
    one; ``callback`` (if given) is called with each record as it is read.
    ``add(map2, cb)`` reads more ring buffers through the same poller.
    """

    def __init__(self, map: Any, callback: Callable[[Any], Any] | None = None,
                 decode: Any = None):
        super().__init__()
        try:
            self.add(map, callback, decode)
        except BaseException:
            self.close()
            raise
        self.map = map

    def add(self, map: Any, callback: Callable[[Any], Any] | None = None, decode: Any = None,
            **kw: Any) -> RingBuffer:
        if getattr(map, "type", None) != MapType.RINGBUF:
            raise MapError(f"RingBuffer needs a RINGBUF map; {getattr(map, 'name', map)!r} "
                           f"is {getattr(getattr(map, 'type', None), 'name', type(map).__name__)}"
                           " (use PerfBuffer for PERF_EVENT_ARRAY, or a Poller for both)")
        super().add(map, callback, decode, **kw)
        return self

    def __repr__(self) -> str:
        return f"<RingBuffer {', '.join(s.name for s in self._sources)}>"


__all__ = ["Poller", "RingBuffer", "make_decoder", "ring_consumer"]
