"""Event sources for the live view: ring/perf buffer records decoded through
BTF (the record type guessed when the program does not say), ``bpf_trace_printk``
lines, and callbacks."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..uapi import MapType
from .format import jsonable, text_of

log = logging.getLogger("ebpf.live")


def guess_event_type(btf: Any, size: int, hint: str = "") -> Any:
    """The BTF struct a ring/perf buffer record of ``size`` bytes most likely is.

    Programs rarely tie a ring buffer to a type, so this looks through the
    object's own BTF for structs of that size (perf records may carry up to 7
    bytes of padding), preferring names with ``event``/``data``/the map's name.
    """
    if btf is None:
        return None
    from ..btf.cache import blob, kernel_memo

    try:  # the answer kept per kernel: a later start reads none of the kernel's BTF
        tid = kernel_memo("event-type", blob(btf) + f"\0{size}\0{hint}".encode(),
                          lambda: _guess_id(btf, size, hint),
                          accept=lambda v: v is None or isinstance(v, int))
        return None if tid is None else btf[tid]
    except Exception:  # noqa: BLE001 - damaged BTF: no decoding
        return None


def _guess_id(btf: Any, size: int, hint: str) -> int | None:
    """The type id :func:`guess_event_type` picks, found by looking (None: none)."""
    from .. import btf as B

    best, best_score = None, -100
    types = list(iter(btf))
    kernel = _kernel_btf()
    for tid, t in enumerate(types, 1):
        if not isinstance(t, B.Struct) or not t.name:
            continue
        if not (t.size == size or (size - 8 < t.size < size and size % 8 == 0)):
            continue
        name = t.name.lower()
        score = 0
        if t.size == size:
            score += 2
        if name == "event" or name.endswith(("_event", "_event_t", "event_t")):
            score += 4
        elif "event" in name:
            score += 1
        if name in ("data_t", "data", "record", "sample", "msg"):
            score += 3
        if hint and hint.lower().rstrip("s") in name:
            score += 2
        if kernel is not None and _kernel_has(kernel, t.name, t.size):
            score -= 8  # a kernel type pulled in by vmlinux.h, not the program's record
        if score > best_score:
            best, best_score = tid, score
    if best_score < 0:
        return None  # only kernel types of that size: better raw bytes than a wrong guess
    return best


_KERNEL_BTF: list[Any] = []


def _kernel_btf() -> Any:
    """The running kernel's BTF (parsed lazily, once), or None."""
    if not _KERNEL_BTF:
        try:
            from ..btf import load_kernel_btf

            _KERNEL_BTF.append(load_kernel_btf())
        except Exception:  # noqa: BLE001 - no kernel BTF here: no penalty
            _KERNEL_BTF.append(None)
    return _KERNEL_BTF[0]


def _kernel_has(kernel: Any, name: str, size: int) -> bool:
    from .. import btf as B

    try:
        return any(isinstance(k, B.Struct) and k.size == size
                   for k in kernel.types_by_name(name))
    except Exception:  # noqa: BLE001
        return False


class EventDecoder:
    """Decodes the records of one ring/perf buffer map through BTF, caching the
    guessed type per record size."""

    def __init__(self, map_name: str, btf: Any = None, value_type: Any = None):
        self.map_name = map_name
        self.btf = btf
        self.value_type = value_type
        self._by_size: dict[int, Any] = {}

    def decode(self, raw: bytes) -> Any:
        from .. import codec

        t = self.value_type
        if t is None:
            if len(raw) not in self._by_size:
                self._by_size[len(raw)] = guess_event_type(self.btf, len(raw), self.map_name)
            t = self._by_size[len(raw)]
        if t is None:
            return bytes(raw)
        try:
            return codec.decode(raw, t)
        except Exception:  # noqa: BLE001 - a record shorter than the type: show raw
            return bytes(raw)


@dataclass
class Event:
    """Something that happened: a buffer record or a trace line."""

    source: str  # map name, or "trace"
    data: Any
    ts: float = field(default_factory=time.time)

    def text(self) -> str:
        if self.source == "trace":
            return f"trace: {self.data}"
        return f"{self.source}: {text_of(self.data)}"

    def to_json(self) -> dict[str, Any]:
        if self.source == "trace":
            return {"type": "trace", "message": self.data, "ts": self.ts}
        return {"type": "event", "map": self.source, "data": jsonable(self.data), "ts": self.ts}


class EventSource:
    """Something :class:`LiveView` polls for events: ``poll(timeout) -> list[Event]``."""

    name = ""

    def poll(self, timeout: float) -> list[Event]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        pass


class BufferSource(EventSource):
    """Records of a ring buffer or perf buffer map, decoded through BTF."""

    def __init__(self, m: Any, btf: Any = None):
        import ebpf

        self.name = m.name
        self.map = m
        self.lost = 0
        if m.type == MapType.PERF_EVENT_ARRAY:
            self.reader = ebpf.PerfBuffer(m, lost_callback=self._on_lost)
        else:
            self.reader = ebpf.RingBuffer(m)
        self.decoder = EventDecoder(m.name, btf, getattr(m.spec, "value_type", None)
                                    if m.type != MapType.RINGBUF else None)

    def _on_lost(self, *args: Any) -> None:
        n = args[-1] if args and isinstance(args[-1], int) else 1
        self.lost += n

    def poll(self, timeout: float) -> list[Event]:
        out = []
        for rec in self.reader.poll(timeout=timeout):
            raw = rec if isinstance(rec, (bytes, bytearray, memoryview)) else getattr(rec, "data", rec)
            data = self.decoder.decode(bytes(raw)) if isinstance(raw, (bytes, bytearray,
                                                                      memoryview)) else raw
            out.append(Event(self.name, data))
        return out

    def close(self) -> None:
        close = getattr(self.reader, "close", None)
        if close:
            close()


class TraceSource(EventSource):
    """``bpf_trace_printk`` lines: the kernel's trace_pipe, or the runtime's log."""

    name = "trace"

    def __init__(self, backend: str):
        self.backend = backend
        self.pipe = None
        self._vm_lines: deque[str] = deque(maxlen=10000)
        self._handler: logging.Handler | None = None
        if backend == "kernel":
            from ..trace import TracePipe

            self.pipe = TracePipe()
            self.pipe.read_lines(timeout=0)  # drop what was there before us
        else:
            lines = self._vm_lines

            class _Collect(logging.Handler):
                def emit(self, record: logging.LogRecord) -> None:
                    lines.append(record.getMessage())

            self._handler = _Collect(level=logging.DEBUG)
            vm_log = logging.getLogger("ebpf.vm.trace")
            vm_log.addHandler(self._handler)
            if vm_log.level == logging.NOTSET or vm_log.level > logging.INFO:
                vm_log.setLevel(logging.INFO)
            vm_log.propagate = False

    def poll(self, timeout: float) -> list[Event]:
        if self.pipe is not None:
            return [Event("trace", f"{ev.task}-{ev.pid}: {ev.message}")
                    for ev in self.pipe.read(timeout=timeout)]
        if not self._vm_lines and timeout:
            time.sleep(min(timeout, 0.05))
        out = []
        while self._vm_lines:
            out.append(Event("trace", self._vm_lines.popleft()))
        return out

    def close(self) -> None:
        if self.pipe is not None:
            self.pipe.close()
        if self._handler is not None:
            logging.getLogger("ebpf.vm.trace").removeHandler(self._handler)


class CallbackSource(EventSource):
    """Events produced by a Python callable (e.g. packets fed from a pcap)."""

    def __init__(self, name: str, fn: Callable[[float], Iterable[Any]]):
        self.name = name
        self.fn = fn

    def poll(self, timeout: float) -> list[Event]:
        return [e if isinstance(e, Event) else Event(self.name, e) for e in self.fn(timeout)]
