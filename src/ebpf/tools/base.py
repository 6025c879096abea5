"""What every tool shares: option conventions, compile-on-first-use, output.

Option conventions (as the classic BCC / libbpf-tools tools spell them):
``-p PID``, ``-T`` (timestamps), positional ``interval`` and ``count``,
``-j/--json`` (one JSON object a line), ``--duration SECONDS``.

A tool's BPF C source ships in the package (``ebpf/tools/bpf/NAME.bpf.c``); it
is compiled the first time the tool runs and kept in the compile cache
(:mod:`ebpf.toolchain.objcache`, ``$XDG_CACHE_HOME/ebpf/objects``), which tracks
every file the compiler read: a changed source or header, another compiler or a
new kernel (another ``vmlinux.h``) compiles again.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from .._internal.digest import hexdigest
from ..errors import Error, NotSupportedError

log = logging.getLogger(__name__)

#: called once the tool's programs are attached (tests drive their workload here)
Ready = Callable[[], None] | None


# ---- sources and the object cache ------------------------------------------------
def source_path(name: str) -> Path:
    """The packaged C source of tool ``name`` (``ebpf/tools/bpf/NAME.bpf.c``)."""
    # package data beside this module (the compiler needs a real file, so a package
    # imported from a zip could not compile it anyway)
    path = Path(__file__).parent / "bpf" / f"{name}.bpf.c"
    if not path.is_file():
        raise Error(f"tool {name}: no BPF source {path} in the package")
    return path


def _kept(src: Path, cc: str | None) -> Path:
    """The object of ``src`` from the compile cache (compiled into it on first use)."""
    import tempfile

    from ..toolchain import compile as compile_c
    from ..toolchain import objcache

    with tempfile.TemporaryDirectory(prefix="ebpf-tool-") as tmp:
        built = compile_c(src, Path(tmp) / (src.name[:-2] + ".o"), cc=cc, cache=True)
        kept = objcache.kept_object(built)
        if kept is not None:
            return kept
        # no compile cache (EBPF_COMPILE_CACHE=0, or it cannot be written): a private
        # copy named by its content, so concurrent runs never see a half-written file
        data = built.read_bytes()
        private = Path(tempfile.gettempdir()) / f"ebpf-tools-{os.getuid()}"
        out = private / f"{src.name[:-2]}-{hexdigest(data, 20)}.o"
        if not out.is_file():
            from .._internal.files import atomic_write

            atomic_write(out, data)
        return out


def object_path(name: str, cc: str | None = None) -> Path:
    """Compile tool ``name`` on first use and return the cached object's path."""
    return _kept(source_path(name), cc)


def object_for_text(name: str, text: str, cc: str | None = None) -> Path:
    """Compile generated C ``text`` (``trace``'s probes) once, cached like the
    packaged tools' objects (the text is kept, named by its hash, beside the cache)."""
    from ..toolchain import objcache

    src = objcache.cache_dir().parent / "generated" / \
        f"{name}-{hexdigest(text.encode(), 20)}.bpf.c"
    if not src.is_file():
        from .._internal.files import atomic_write

        try:
            atomic_write(src, text)
        except OSError:  # an unwritable cache: a private directory
            import tempfile

            src = Path(tempfile.mkdtemp(prefix=f"ebpf-{name}-")) / src.name
            src.write_text(text)
    return _kept(src, cc)


def open_tool(name: str, constants: dict[str, Any] | None = None,
              programs: Sequence[str] | None = None) -> Any:
    """Load tool ``name``'s object into the kernel (compiling it on first use)."""
    from ..objects import load

    options: dict[str, Any] = {}
    if programs is not None:
        options["programs"] = list(programs)
    return load(object_path(name), backend="kernel", constants=constants or {}, **options)


def open_first(name: str, variants: Iterable[Sequence[str]],
               constants: dict[str, Any] | None = None) -> tuple[Any, list[Any]]:
    """Load and attach the first working set of programs of tool ``name``: the
    classic hook first (e.g. ``tp_btf``), then fallbacks (raw tracepoints...).
    Returns (object, links). Raises the last error, naming every attempt."""
    errors = []
    for progs in variants:
        obj = None
        try:
            obj = open_tool(name, constants, progs)
            return obj, obj.attach()
        except Error as e:
            if obj is not None:
                obj.close()
            errors.append(f"{'/'.join(progs)}: {e}")
            log.info("tool %s: %s failed: %s", name, progs, e)
    raise NotSupportedError(f"{name}'s hooks", detail="none of them works on this kernel: " +
                            "; ".join(errors))


@contextlib.contextmanager
def attached(name: str, constants: dict[str, Any] | None = None,
             variants: Iterable[Sequence[str]] | None = None, attach: bool = True) -> Iterator[Any]:
    """Tool ``name`` loaded into the kernel (bpf(2) checked first, see
    :func:`require_kernel`) and attached: the first working set of ``variants``
    when given (:func:`open_first`), else every program, or none when ``attach``
    is False (the tool attaches them itself). Closed on leaving the block."""
    require_kernel(name)
    if variants is not None:
        obj, _ = open_first(name, variants, constants)
    else:
        obj = open_tool(name, constants)
    with obj:
        if attach and variants is None:
            obj.attach()
        yield obj


def require_kernel(name: str) -> None:
    """Fail clearly when bpf(2) is not usable (the tools trace the live kernel)."""
    from ..kernel.probes import bpf_usable

    if not bpf_usable():
        raise NotSupportedError(f"{name} without bpf(2)",
                                detail="the tools trace the running kernel: run as root "
                                "(or with CAP_BPF and CAP_PERFMON)")


# ---- options ----------------------------------------------------------------------
class ToolParser(argparse.ArgumentParser):
    """argparse with the classic tools' option spellings as one-call helpers."""

    def __init__(self, name: str, description: str, examples: str = "", **kw: Any):
        epilog = ("examples:\n" + examples.strip("\n")) if examples else None
        super().__init__(prog=name, description=description, epilog=epilog,
                         formatter_class=argparse.RawDescriptionHelpFormatter, **kw)
        self.add_argument("-j", "--json", action="store_true",
                          help="print one JSON object a line (for scripts)")

    def pid(self, what: str = "trace this PID only") -> None:
        self.add_argument("-p", "--pid", type=int, default=0, help=what)

    def timestamp(self, flag: str = "-T", what: str = "include a time column (HH:MM:SS)"
                  ) -> None:
        self.add_argument(flag, "--timestamp", dest="timestamp", action="store_true",
                          help=what)

    def duration(self, default: float | None = None) -> None:
        self.add_argument("--duration", type=float, default=default,
                          help="stop after this many seconds")

    def noclear(self) -> None:
        """``-C``/``--noclear`` of the top-style tools (see :func:`top`)."""
        self.add_argument("-C", "--noclear", action="store_true", help="don't clear the screen")

    def ports(self) -> None:
        """``-L``/``--localport`` and ``-D``/``--remoteport``: comma-separated port
        lists (see :func:`port_set`)."""
        self.add_argument("-L", "--localport", help="comma-separated list of local ports to trace")
        self.add_argument("-D", "--remoteport",
                          help="comma-separated list of remote ports to trace")

    def families(self) -> None:
        """``-4``/``--ipv4`` or ``-6``/``--ipv6`` (see :func:`family_wanted`)."""
        fam = self.add_mutually_exclusive_group()
        fam.add_argument("-4", "--ipv4", action="store_true", help="trace IPv4 family only")
        fam.add_argument("-6", "--ipv6", action="store_true", help="trace IPv6 family only")

    def interval(self, default: float = 99999999.0, count: bool = True) -> None:
        self.add_argument("interval", nargs="?", type=float, default=default,
                          help="output interval, in seconds")
        if count:
            self.add_argument("count", nargs="?", type=int, default=99999999,
                              help="number of outputs")


# ---- output -----------------------------------------------------------------------
class Output:
    """Rows as text columns or as JSON lines; stdout by default."""

    def __init__(self, json_lines: bool = False, stream: IO[str] | None = None):
        self.json = json_lines
        self.stream = stream

    def _out(self) -> IO[str]:
        return self.stream or sys.stdout

    def text(self, line: str = "") -> None:
        """A human line (skipped in JSON mode)."""
        if not self.json:
            print(line, file=self._out(), flush=True)

    def note(self, line: str) -> None:
        """'Tracing... Hit Ctrl-C to end.' and similar: stderr in JSON mode."""
        print(line, file=sys.stderr if self.json else self._out(), flush=True)

    def row(self, record: dict[str, Any], line: str | None = None) -> None:
        """One event or table row: ``line`` in text mode, ``record`` as JSON."""
        if self.json:
            print(json.dumps(record, default=str), file=self._out(), flush=True)
        elif line is not None:
            print(line, file=self._out(), flush=True)

    def histogram(self, hist: Any, record: dict[str, Any] | None = None, **render: Any) -> None:
        """A log2 or linear :class:`ebpf.Histogram`, rendered or as one JSON object
        with its buckets."""
        if self.json:
            rec = dict(record or {})
            rec.update(unit=hist.unit, total=hist.total,
                       buckets=[{"low": b.low, "high": b.high, "count": b.count}
                                for b in hist.buckets if b.count])
            self.row(rec)
        else:
            print(hist.render(**render), file=self._out(), flush=True)


def text(raw: bytes | str) -> str:
    """A NUL-terminated C string as text."""
    if isinstance(raw, str):
        return raw
    return bytes(raw).split(b"\0", 1)[0].decode("utf-8", "replace")


def hms(t: float | None = None) -> str:
    """HH:MM:SS of the local time, as the classic tools' -T column."""
    return time.strftime("%H:%M:%S", time.localtime(t))


def ipv4(addr: bytes | int) -> str:
    """Dotted quad of 4 network-order bytes."""
    import socket

    if isinstance(addr, int):
        addr = addr.to_bytes(4, "little")
    return socket.inet_ntop(socket.AF_INET, bytes(addr)[:4])


def ip_text(family: int, raw: bytes) -> str:
    """An IPv4 (family 2) or IPv6 (10) address from its raw bytes."""
    import socket

    if family == socket.AF_INET6:
        return socket.inet_ntop(socket.AF_INET6, bytes(raw)[:16])
    return socket.inet_ntop(socket.AF_INET, bytes(raw)[:4])


def flow_addrs(flow: Any) -> tuple[str, str]:
    """The local and remote addresses of a ``struct flow`` (tools.h) as text."""
    return ip_text(flow.family, flow.saddr), ip_text(flow.family, flow.daddr)


#: TCP states as the kernel numbers them (include/net/tcp_states.h)
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1", 5: "FIN_WAIT2",
              6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK", 10: "LISTEN",
              11: "CLOSING", 12: "NEW_SYN_RECV"}


def port_set(spec: str | None) -> set[int]:
    """The ports of a comma-separated list (empty, meaning every port, for none)."""
    return {int(x) for x in spec.split(",")} if spec else set()


def ports_wanted(args: argparse.Namespace) -> Callable[[int, int], bool]:
    """Whether ``-L``/``-D`` (:meth:`ToolParser.ports`) let a flow of (local port,
    remote port) through."""
    lports, dports = port_set(args.localport), port_set(args.remoteport)
    return lambda lport, dport: not (lports and lport not in lports or
                                     dports and dport not in dports)


def family_wanted(args: argparse.Namespace, family: int) -> bool:
    """Whether ``-4``/``-6`` (:meth:`ToolParser.families`) let address family
    ``family`` (2: AF_INET, 10: AF_INET6) through."""
    return not (args.ipv4 and family != 2 or args.ipv6 and family != 10)


def boot_ns_to_epoch() -> float:
    """Offset turning bpf_ktime_get_ns() (CLOCK_MONOTONIC) into wall time (s)."""
    return time.time() - time.monotonic()


# ---- running ----------------------------------------------------------------------
def poll_events(rb: Any, handle: Callable[[Any], Any], duration: float | None,
                stop: Callable[[], bool] | None = None) -> None:
    """Feed ring/perf buffer records to ``handle`` until ``duration`` seconds pass
    (forever when None), Ctrl-C, or ``stop()`` says so."""
    deadline = None if duration is None else time.monotonic() + duration
    try:
        while deadline is None or time.monotonic() < deadline:
            wait = 0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))
            for ev in rb.poll(timeout=wait):
                handle(ev)
            if stop is not None and stop():
                break
        for ev in rb.poll(timeout=0):  # what arrived just before the end
            handle(ev)
    except KeyboardInterrupt:
        pass


Row = tuple[dict[str, Any], str] | None


def stream(name: str, args: argparse.Namespace, constants: dict[str, Any], header: str,
           fmt: Callable[[Any], Row], ready: Ready = None,
           variants: Iterable[Sequence[str]] | None = None, decode: Any = "event",
           hook: Callable[[Any], contextlib.AbstractContextManager[Any]] | None = None) -> int:
    """The body of an event tool: load and attach ``name`` (the first working set of
    ``variants`` when given; with ``hook``, the context ``hook(object)`` attaches
    the programs instead), print ``header``, then one row per ring buffer record
    (``fmt(record)`` returns ``(json_record, text_line)`` or None to skip it) until
    ``args.duration`` passes or Ctrl-C."""
    out = Output(args.json)
    with attached(name, constants, variants, attach=hook is None) as obj, \
            (hook(obj) if hook is not None else contextlib.nullcontext()):
        print_events(obj, out, header, fmt, getattr(args, "duration", None), ready, decode)
    return 0


def print_events(obj: Any, out: Output, header: str, fmt: Callable[[Any], Row],
                 duration: float | None, ready: Ready = None, decode: Any = "event",
                 stop: Callable[[], bool] | None = None) -> None:
    """Print ``header``, then one row per record of the ring buffer ``events`` of
    the loaded and attached ``obj`` (``fmt(record)`` returns ``(json_record,
    text_line)`` or None to skip it) until ``duration`` seconds pass, Ctrl-C or
    ``stop()``. ``ready()`` is called once the buffer is open."""
    from ..ringbuf import RingBuffer

    rb = RingBuffer(obj.maps["events"], decode=decode)
    out.text(header)

    def handle(ev: Any) -> None:
        row = fmt(ev)
        if row is not None:
            out.row(*row)

    try:
        if ready:
            ready()
        poll_events(rb, handle, duration, stop)
    finally:
        rb.close()


def announce(out: Output, note: str, ready: Ready) -> None:
    """Say ``note`` ("Tracing... Hit Ctrl-C to end.") and call ``ready()``: the
    tool's programs are attached and counting."""
    out.note(note)
    if ready:
        ready()


def drain(m: Any) -> list[tuple[Any, Any]]:
    """The entries of map ``m``, which is emptied: an interval's counts."""
    rows = list(m.items())
    m.clear()
    return rows


def every_interval(out: Output, note: str, ready: Ready, args: argparse.Namespace,
                   tick: Callable[[bool], None], count: int | None = None) -> int:
    """The loop of a summary tool: say ``note`` and call ``ready()``
    (:func:`announce`), then ``tick(last)`` every ``args.interval`` seconds,
    ``count`` (default ``args.count``) times at most, until ``args.duration``
    passes or Ctrl-C (:func:`intervals`). Returns 0, the exit status."""
    announce(out, note, ready)
    intervals(args.interval, args.count if count is None else count, args.duration, tick)
    return 0


def top(out: Output, args: argparse.Namespace, table: Callable[[], None], ready: Ready,
        summary: bool = True) -> int:
    """The loop of a top-style tool (:func:`every_interval`): each interval a screen,
    cleared first (not with ``-C`` (:meth:`ToolParser.noclear`), JSON or no
    terminal), with the time and load average when ``summary``, a blank line,
    then ``table()`` and a blank line."""
    def tick(last: bool) -> None:
        if not args.noclear and not args.json and os.isatty(1):
            print("\033[2J\033[H", end="")
        if summary:
            out.text(f"{hms()} loadavg: {Path('/proc/loadavg').read_text().strip()}")
        out.text()
        table()
        out.text()

    return every_interval(out, f"Tracing... Output every {args.interval:g} secs. Hit Ctrl-C "
                          "to end", ready, args, tick)


def intervals(interval: float, count: int, duration: float | None,
              tick: Callable[[bool], None]) -> None:
    """Call ``tick(last)`` every ``interval`` seconds, ``count`` times at most,
    until ``duration`` seconds pass or Ctrl-C (then a last tick)."""
    start = time.monotonic()
    end = None if duration is None else start + duration
    n = 0
    try:
        while n < count:
            nxt = start + (n + 1) * interval
            last = n + 1 >= count
            if end is not None and nxt >= end:
                nxt, last = end, True
            time.sleep(max(0.0, nxt - time.monotonic()))
            n += 1
            tick(last)
            if last:
                return
    except KeyboardInterrupt:
        tick(True)


def sleep_for(duration: float | None) -> None:
    """Sleep ``duration`` seconds (forever when None) or until Ctrl-C."""
    try:
        if duration is None:
            while True:
                time.sleep(3600)
        time.sleep(duration)
    except KeyboardInterrupt:
        pass


def run_main(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> None:
    """``python -m ebpf.tools.NAME``: run, turn our errors into one line, exit."""
    try:
        code = main(argv)
    except BrokenPipeError:
        code = 0
    except (Error, OSError) as e:  # ours, or a file/socket the options named
        name = getattr(main, "__module__", "tool").rsplit(".", 1)[-1]
        print(f"{name}: error: {e}", file=sys.stderr)
        code = 1
    sys.exit(code)


__all__ = ["Output", "Ready", "Row", "TCP_STATES", "ToolParser", "announce", "attached", "boot_ns_to_epoch",
           "drain", "every_interval", "hms",
           "family_wanted", "flow_addrs", "intervals", "ip_text", "ipv4", "object_for_text", "object_path", "open_first", "open_tool",
           "poll_events", "port_set", "ports_wanted", "print_events", "require_kernel", "run_main", "sleep_for", "source_path", "stream",
           "text", "top"]
