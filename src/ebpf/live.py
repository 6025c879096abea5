"""A live terminal view of a loaded object: maps as tables and histograms,
ring/perf buffer events as a stream, ``bpf_trace_printk`` lines.

Used by ``ebpf run``; usable from Python too::

    with ebpf.load("prog.bpf.o") as obj:
        obj.attach()
        LiveView(obj).run(duration=10)

Three output modes: ``"tty"`` (the screen redrawn every second with ANSI
escapes), ``"plain"`` (one line per event, tables at the end: for pipes, scripts
and CI) and ``"json"`` (one JSON object a line). Only the standard library is used.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

from .codec import Struct
from .errors import Error
from .histogram import Histogram, _slots_of, looks_like_histogram
from .uapi import MapType

log = logging.getLogger(__name__)

#: maps the view never shows as tables (their content is not key → value data)
_HIDDEN_TYPES = frozenset({
    MapType.RINGBUF, MapType.PERF_EVENT_ARRAY, MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS,
    MapType.HASH_OF_MAPS, MapType.CGROUP_ARRAY, MapType.STACK_TRACE, MapType.DEVMAP,
    MapType.DEVMAP_HASH, MapType.CPUMAP, MapType.XSKMAP, MapType.SOCKMAP, MapType.SOCKHASH,
    MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER, MapType.USER_RINGBUF,
})
_GLOBAL_SECTIONS = (".data", ".bss", ".rodata", ".kconfig")


# ---- formatting values ---------------------------------------------------------
def text_of(value: Any) -> str:
    """A decoded map value or field as short text: C strings up to their NUL,
    structs as ``field=value`` pairs.

    >>> text_of(b"bash\\0\\0\\0"), text_of([1, 2, 3]), text_of(Struct("k", {"pid": 7}))
    ('bash', '[1, 2, 3]', 'pid=7')
    """
    if isinstance(value, Struct):
        return " ".join(f"{k}={text_of(v)}" for k, v in value._fields.items())
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        head = raw.split(b"\0", 1)[0]
        tail_zero = not raw[len(head):].strip(b"\0")
        if tail_zero and all(32 <= c < 127 or c in (9,) for c in head):
            return head.decode("ascii")
        return raw.hex()
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(v, (bytes, bytearray)) for v in value):
            while value and not bytes(value[-1]).strip(b"\0"):  # unused C string slots
                value = value[:-1]
        if len(value) > 16:
            return "[" + ", ".join(text_of(v) for v in value[:16]) + f", ... {len(value)}]"
        return "[" + ", ".join(text_of(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def sum_per_cpu(values: list[Any]) -> Any:
    """One value from a per-CPU list: integers summed, structs summed field by
    field (non-numeric fields from the first CPU).

    >>> sum_per_cpu([1, 2]), sum_per_cpu([Struct("s", {"n": 1, "c": b"x"}), Struct("s", {"n": 2, "c": b"y"})])
    (3, s(n=3, c=b'x'))
    """
    if not values:
        return 0
    first = values[0]
    if isinstance(first, int):
        return sum(v for v in values if isinstance(v, int))
    if isinstance(first, Struct):
        fields = {}
        for k, v0 in first._fields.items():
            if isinstance(v0, int):
                fields[k] = sum(getattr(v, k, 0) for v in values)
            else:
                fields[k] = v0
        return Struct(first._name, fields)
    return first


def jsonable(value: Any) -> Any:
    """A decoded value as JSON-friendly data (strings for C strings, hex for other bytes)."""
    if isinstance(value, Struct):
        return {k: jsonable(v) for k, v in value._fields.items()}
    if isinstance(value, (bytes, bytearray)):
        raw = bytes(value)
        head = raw.split(b"\0", 1)[0]
        if not raw[len(head):].strip(b"\0") and all(32 <= c < 127 or c == 9 for c in head):
            return head.decode("ascii")
        return raw.hex()
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def columns_of(value: Any) -> list[tuple[str, str]]:
    """(column name, text) pairs for a decoded value: one per struct field."""
    if isinstance(value, Struct):
        return [(k, text_of(v)) for k, v in value._fields.items()]
    return [("", text_of(value))]


def sort_weight(value: Any) -> int | None:
    """The number a table row sorts by: the counter (summed over CPUs), or a
    struct's ``count``-like field (else its first integer field)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, int) for v in value):
        return sum(value)
    if isinstance(value, Struct):
        fields = value._fields
        for name in ("count", "counts", "cnt", "calls", "packets", "bytes", "total", "value"):
            if isinstance(fields.get(name), int):
                return fields[name]
        for v in fields.values():
            w = sort_weight(v)
            if w is not None:
                return w
    return None


def table(rows: list[list[str]], header: list[str]) -> list[str]:
    """Left-aligned text columns (numbers right-aligned)."""
    widths = [len(h) for h in header]
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    numeric = [all(_isnum(r[i]) for r in rows) if rows else False for i in range(len(header))]

    def line(cells: list[str]) -> str:
        out = [c.rjust(widths[i]) if numeric[i] else c.ljust(widths[i])
               for i, c in enumerate(cells)]
        return "  ".join(out).rstrip()

    return [line(header)] + [line(r) for r in rows]


def _isnum(s: str) -> bool:
    try:
        int(s)
        return True
    except ValueError:
        return False


# ---- maps ----------------------------------------------------------------------
def shown_maps(obj: Any) -> list[Any]:
    """The maps of an object worth a table (no ring buffers, program arrays,
    global-data maps)."""
    out = []
    for name, m in obj.maps.items():
        if m.type in _HIDDEN_TYPES or name.startswith(_GLOBAL_SECTIONS) or \
                getattr(m.spec, "section", "").startswith(_GLOBAL_SECTIONS):
            continue
        out.append(m)
    return out


@dataclass
class MapSnapshot:
    """A map read once: table rows or histograms, ready to print."""

    name: str
    kind: str  # "table" | "histogram" | "error"
    entries: list[tuple[Any, Any]] = field(default_factory=list)
    histograms: dict[str, Histogram] = field(default_factory=dict)
    error: str = ""

    def lines(self, limit: int | None = None) -> list[str]:
        """The snapshot as text lines (tables capped to ``limit`` rows)."""
        if self.kind == "error":
            return [f"{self.name}: {self.error}"]
        if self.kind == "histogram":
            out = []
            for title, h in self.histograms.items():
                out.append(f"{self.name}" + (f" [{title}]" if title else "") +
                           f": {h.total} values")
                out.extend(h.render(trim=True).splitlines())
            return out
        if not self.entries:
            return [f"{self.name}: (empty)"]
        entries = self.entries if limit is None else self.entries[:limit]
        kcols = columns_of(entries[0][0])
        vcols = columns_of(entries[0][1])
        header = [k or "KEY" for k, _ in kcols] + [v or "VALUE" for v, _ in vcols]
        header = [h.upper() for h in header]
        rows = []
        for k, v in entries:
            kc, vc = columns_of(k), columns_of(v)
            if len(kc) != len(kcols) or len(vc) != len(vcols):  # ragged: fall back to text
                kc, vc = [("", text_of(k))], [("", text_of(v))]
                kc += [("", "")] * (len(kcols) - 1)
                vc += [("", "")] * (len(vcols) - 1)
            rows.append([c for _, c in kc] + [c for _, c in vc])
        out = [f"{self.name}: {len(self.entries)} entries"]
        out += ["  " + ln for ln in table(rows, header)]
        if limit is not None and len(self.entries) > limit:
            out.append(f"  ... {len(self.entries) - limit} more")
        return out

    def to_json(self) -> dict[str, Any]:
        if self.kind == "histogram":
            return {"type": "histogram", "map": self.name,
                    "histograms": {t: [list(b) for b in h.buckets]
                                   for t, h in self.histograms.items()}}
        if self.kind == "error":
            return {"type": "map", "map": self.name, "error": self.error}
        return {"type": "map", "map": self.name,
                "entries": [{"key": jsonable(k), "value": jsonable(v)} for k, v in self.entries]}


def snapshot(m: Any, unit: str = "value") -> MapSnapshot:
    """Read a map now: a histogram when it looks like one, else a table sorted
    by counter (largest first; by key when the values are not counters)."""
    try:
        items = list(m.items())
    except Error as e:
        return MapSnapshot(m.name, "error", error=str(e))
    if getattr(m, "per_cpu", False):
        items = [(k, sum_per_cpu(v) if isinstance(v, list) else v) for k, v in items]
    if looks_like_histogram(m):
        try:
            structured = [(k, _slots_of(v)) for k, v in items]
            if items and all(s is not None for _, s in structured) and len(items) > 1:
                hists = {text_of(k): Histogram(s or [], unit=unit) for k, s in structured}
            else:
                hists = {"": Histogram.from_map(m, unit=unit, title=m.name)}
            return MapSnapshot(m.name, "histogram", histograms=hists)
        except Error as e:
            log.debug("map %s is not a histogram after all: %s", m.name, e)
    weights = [sort_weight(v) for _, v in items]
    if items and all(w is not None for w in weights):
        order = sorted(range(len(items)), key=lambda i: (-weights[i], _key_order(items[i][0])))
        entries = [items[i] for i in order]
    else:
        entries = sorted(items, key=lambda kv: _key_order(kv[0]))
    if m.type in (MapType.ARRAY, MapType.PERCPU_ARRAY) and len(entries) > 16:
        # big arrays: hide all-zero slots
        entries = [(k, v) for k, v in entries if sort_weight(v) != 0] or entries[:0]
    return MapSnapshot(m.name, "table", entries=entries)


def _key_order(k: Any) -> tuple:
    if isinstance(k, int):
        return (0, k, "")
    return (1, 0, text_of(k))


# ---- events --------------------------------------------------------------------
def guess_event_type(btf: Any, size: int, hint: str = "") -> Any:
    """The BTF struct a ring/perf buffer record of ``size`` bytes most likely is.

    Programs rarely tie a ring buffer to a type, so this looks through the
    object's own BTF for structs of that size (perf records may carry up to 7
    bytes of padding), preferring names with ``event``/``data``/the map's name.
    """
    if btf is None:
        return None
    from . import btf as B

    best, best_score = None, -100
    try:
        types = list(iter(btf))
    except Exception:  # noqa: BLE001 - damaged BTF: no decoding
        return None
    kernel = _kernel_btf()
    for t in types:
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
            best, best_score = t, score
    if best_score < 0:
        return None  # only kernel types of that size: better raw bytes than a wrong guess
    return best


_KERNEL_BTF: list[Any] = []


def _kernel_btf() -> Any:
    """The running kernel's BTF (parsed lazily, once), or None."""
    if not _KERNEL_BTF:
        try:
            from .btf import load_kernel_btf

            _KERNEL_BTF.append(load_kernel_btf())
        except Exception:  # noqa: BLE001 - no kernel BTF here: no penalty
            _KERNEL_BTF.append(None)
    return _KERNEL_BTF[0]


def _kernel_has(kernel: Any, name: str, size: int) -> bool:
    from . import btf as B

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
        from . import codec

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
            from .trace import TracePipe

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


# ---- the view ------------------------------------------------------------------
class LiveView:
    """Shows an object's maps and events until ``duration`` runs out or Ctrl-C.

    ``mode`` is "tty", "plain" or "json" (default: "tty" when ``out`` is a
    terminal, else "plain"). ``interval`` is the refresh period of the tables
    (in plain/json mode tables print every ``interval`` seconds only when
    ``periodic`` is set, and always at the end).
    """

    def __init__(self, obj: Any, *, sources: Iterable[EventSource] = (), out: TextIO | None = None,
                 mode: str | None = None, interval: float = 1.0, title: str = "",
                 periodic: bool = False, unit: str = "value", max_events: int = 500,
                 status: Callable[[], str] | None = None):
        self.obj = obj
        self.sources = list(sources)
        self.out = out or sys.stdout
        if mode is None:
            mode = "tty" if _isatty(self.out) else "plain"
        if mode not in ("tty", "plain", "json"):
            raise ValueError(f"unknown view mode {mode!r} (tty, plain or json)")
        self.mode = mode
        self.interval = interval
        self.title = title
        self.periodic = periodic
        self.unit = unit
        self.events: deque[Event] = deque(maxlen=max_events)
        self.counts: dict[str, int] = {}
        self.started = 0.0
        self.elapsed = 0.0
        self.status = status
        self._screen = False
        #: True once the output's reader has gone away (nothing more is written)
        self.broken = False
        #: symbolizes stack-trace maps (created when the object has one; caches persist)
        self.symbolizer: Any = None
        self._pids_seen: set[int] = set()

    # -- output helpers --
    def _write(self, text: str) -> None:
        if self.broken:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            # the reader went away (``| head``): stop quietly, like Ctrl-C
            self.broken = True
            if self.out is sys.stdout:
                try:  # no second BrokenPipeError when Python flushes stdout at exit
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                except OSError:
                    pass
            raise KeyboardInterrupt from None

    def _emit_event(self, ev: Event) -> None:
        self.counts[ev.source] = self.counts.get(ev.source, 0) + 1
        self.events.append(ev)
        if self.mode == "plain":
            self._write(ev.text() + "\n")
        elif self.mode == "json":
            self._write(json.dumps(ev.to_json(), default=str) + "\n")

    def snapshots(self) -> list[Any]:
        """Map snapshots, and stacks (STACK_TRACE maps symbolized, joined with the
        maps that count by stack id, which they replace)."""
        views: list[Any] = []
        joined: set[str] = set()
        if self._stacks():
            from .stacks.maps import stack_views

            views, joined = stack_views(self.obj, self.symbolizer)
        return [snapshot(m, self.unit) for m in shown_maps(self.obj)
                if m.name not in joined] + views

    def _stacks(self) -> bool:
        """Whether the object has stack-trace maps; snapshots the processes seen in
        them so far (their stacks resolve after they exit)."""
        if not any(m.type == MapType.STACK_TRACE for m in self.obj.maps.values()):
            return False
        from .stacks.maps import remember_processes
        from .symbols import Symbolizer

        if self.symbolizer is None:
            self.symbolizer = Symbolizer()
        remember_processes(self.obj, self.symbolizer, self._pids_seen)
        return True

    def globals_line(self) -> str:
        """Values of the object's writable globals (.data/.bss) as one line."""
        parts = []
        for name, var in getattr(self.obj, "variables", {}).items():
            if var.readonly or _is_pointer(var):
                continue
            try:
                parts.append(f"{name}={text_of(var.value)}")
            except Error as e:
                parts.append(f"{name}=<{e}>")
        return " ".join(parts)

    def print_tables(self, final: bool = False) -> None:
        snaps = self.snapshots()
        if self.mode == "json":
            for s in snaps:
                self._write(json.dumps(s.to_json(), default=str) + "\n")
            g = {n: jsonable(v.value) for n, v in getattr(self.obj, "variables", {}).items()
                 if not v.readonly and not _is_pointer(v)}
            if g:
                self._write(json.dumps({"type": "globals", "values": g}, default=str) + "\n")
            return
        lines = []
        for s in snaps:
            lines.extend(s.lines(limit=None if final else 20))
        g = self.globals_line()
        if g:
            lines.append(f"globals: {g}")
        if lines:
            self._write("\n".join(lines) + "\n")

    def render_screen(self) -> str:
        """The full TTY screen as text (without escapes)."""
        cols, rows = shutil.get_terminal_size((100, 40))
        head = f"{self.elapsed:5.1f}s (Ctrl-C to stop)  {self.title}"
        if self.status:
            head += f"  {self.status()}"
        lines = [head[:cols], ""]
        budget = max(rows - 8, 6)
        for s in self.snapshots():
            lines.extend(s.lines(limit=max(budget // 2, 3)))
            lines.append("")
        g = self.globals_line()
        if g:
            lines.extend([f"globals: {g}", ""])
        if self.sources:
            counts = ", ".join(f"{n}: {c}" for n, c in sorted(self.counts.items())) or "none yet"
            lines.append(f"events ({counts})")
            room = max(rows - len(lines) - 1, 3)
            lines.extend(ev.text() for ev in list(self.events)[-room:])
        return "\n".join(ln[:cols] for ln in lines[: max(rows - 1, 10)])

    def _draw(self) -> None:
        screen = self.render_screen().replace("\n", "\x1b[K\n")
        self._write("\x1b[H" + screen + "\x1b[K\x1b[J")

    # -- the loop --
    def run(self, duration: float | None = None,
            until: Callable[[], bool] | None = None) -> float:
        """Poll sources and refresh until ``duration`` seconds pass, ``until()``
        says the input is over, or Ctrl-C (or SIGTERM); returns the seconds it ran.
        Always prints the final summary (tables after the stream)."""
        self.started = time.monotonic()
        deadline = None if duration is None else self.started + duration
        next_draw = self.started
        old_term = _install_sigterm()
        if self.mode == "tty":
            self._write("\x1b[?1049h\x1b[?25l")  # alternate screen, hide cursor
            self._screen = True
        try:
            while True:
                now = time.monotonic()
                self.elapsed = now - self.started
                if deadline is not None and now >= deadline:
                    break
                if until is not None and until():
                    break
                if now >= next_draw:
                    if self.mode == "tty":
                        self._draw()
                    elif self.periodic:
                        self._write(f"--- {self.elapsed:.1f}s ---\n")
                        self.print_tables()
                    next_draw = now + self.interval
                    self._stacks()
                wait = next_draw - time.monotonic()
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                wait = max(min(wait, 0.2), 0.0)
                if not self.sources:
                    time.sleep(wait)
                    continue
                per = wait / len(self.sources)
                for src in self.sources:
                    try:
                        for ev in src.poll(per):
                            self._emit_event(ev)
                    except Error as e:
                        log.warning("reading %s: %s", src.name, e)
        except KeyboardInterrupt:
            pass
        finally:
            self.elapsed = time.monotonic() - self.started
            if self._screen:
                self._screen = False
                try:
                    self._write("\x1b[?25h\x1b[?1049l")
                except KeyboardInterrupt:
                    pass
            _restore_sigterm(old_term)
        return self.elapsed

    def drain(self) -> None:
        """Read whatever events are pending (without waiting)."""
        for src in self.sources:
            try:
                for ev in src.poll(0):
                    self._emit_event(ev)
            except Error as e:
                log.warning("reading %s: %s", src.name, e)

    def summary(self) -> None:
        """The final state: event stream tail (tty mode), counts and tables."""
        if self.mode == "tty" and self.events:
            self._write("\n".join(ev.text() for ev in list(self.events)[-20:]) + "\n")
        if self.mode == "json":
            self._write(json.dumps({"type": "summary", "seconds": round(self.elapsed, 3),
                                    "events": self.counts}) + "\n")
        else:
            counts = ", ".join(f"{n}={c}" for n, c in sorted(self.counts.items()))
            self._write(f"--- after {self.elapsed:.1f}s"
                        + (f"; events received: {counts}" if counts else "") + " ---\n")
        self.print_tables(final=True)

    def close(self) -> None:
        for src in self.sources:
            try:
                src.close()
            except Error as e:  # keep closing the rest
                log.warning("closing %s: %s", src.name, e)


def _is_pointer(var: Any) -> bool:
    """Pointer globals (``const struct event *unused``) only carry a type for tools."""
    t = getattr(var.spec, "type", None)
    if t is None:
        return False
    from . import btf as B

    try:
        return isinstance(B.resolve(t), B.Pointer)
    except Exception:  # noqa: BLE001
        return False


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _install_sigterm() -> Any:
    """Make SIGTERM stop the view like Ctrl-C (so links are closed)."""
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        return None


def _restore_sigterm(old: Any) -> None:
    if old is not None:
        try:
            signal.signal(signal.SIGTERM, old)
        except ValueError:
            pass


__all__ = ["BufferSource", "CallbackSource", "Event", "EventDecoder", "EventSource", "LiveView",
           "MapSnapshot", "TraceSource", "columns_of", "guess_event_type", "jsonable",
           "shown_maps", "snapshot", "sum_per_cpu", "table", "text_of"]
