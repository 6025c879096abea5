"""``ebpf run``: compile (when given C), load, attach everything the sections
say, then show maps and events live until Ctrl-C or ``--duration``.

    ebpf run execsnoop.bpf.c                 # tracepoints: nothing to say
    ebpf run xdpfw.bpf.c --ifname lo         # XDP needs an interface
    ebpf run xdpfw.bpf.c --pcap traffic.pcap # or packets from a capture (any backend)
    ebpf run mallocsize.bpf.c --binary libc.so.6 --symbol malloc --pid 1234

Leaving (Ctrl-C, SIGTERM, the end of ``--duration``) closes every link, so no
program stays attached, then prints a final summary of the maps.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AttachError, Error, NotSupportedError
from ..uapi.consts import (
    TC_ACT_OK,
    TC_ACT_PIPE,
    TC_ACT_RECLASSIFY,
    TC_ACT_REDIRECT,
    TC_ACT_SHOT,
    TC_ACT_STOLEN,
    TC_ACT_UNSPEC,
    XDP_ABORTED,
    XDP_DROP,
    XDP_PASS,
    XDP_REDIRECT,
    XDP_TX,
)

if TYPE_CHECKING:  # packet sockets are opened (and the module loaded) only for --ifname
    import socket

log = logging.getLogger(__name__)

#: program kinds fed with packets (--ifname on the kernel, --pcap on any backend)
PACKET_KINDS = frozenset({"xdp", "tc", "tcx", "socket", "tc_action", "netkit"})
_TRACE_HELPERS = (6, 177)  # bpf_trace_printk, bpf_trace_vprintk
_XDP_ACTIONS = {XDP_ABORTED: "XDP_ABORTED", XDP_DROP: "XDP_DROP", XDP_PASS: "XDP_PASS",
                XDP_TX: "XDP_TX", XDP_REDIRECT: "XDP_REDIRECT"}
_TC_ACTIONS = {TC_ACT_UNSPEC: "TC_ACT_UNSPEC", TC_ACT_OK: "TC_ACT_OK",
               TC_ACT_RECLASSIFY: "TC_ACT_RECLASSIFY", TC_ACT_SHOT: "TC_ACT_SHOT",
               TC_ACT_PIPE: "TC_ACT_PIPE", TC_ACT_STOLEN: "TC_ACT_STOLEN",
               TC_ACT_REDIRECT: "TC_ACT_REDIRECT"}


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run", help="compile, load and attach a program; show its maps and events live",
        description="Compile (for C), load, attach every program the way its section says, "
                    "and show maps as tables/histograms and ring/perf buffer events live. "
                    "Ctrl-C or --duration detaches and prints a final summary.")
    p.add_argument("source", help="a C source (.c) or a BPF object (.o)")
    p.add_argument("--backend", choices=("kernel", "vm"),
                   help="where programs run (default: the kernel when bpf(2) is usable, "
                        "else the in-process runtime)")
    p.add_argument("--ifname", help="interface for XDP/tc programs (and socket filters, "
                                    "through a packet socket on it)")
    p.add_argument("--pid", type=int, help="process for uprobes (only its calls count)")
    p.add_argument("--binary", help="binary or library for uprobes whose section names none "
                                    "(e.g. libc.so.6 or /usr/bin/bash)")
    p.add_argument("--symbol", help="function for uprobes whose section names none")
    p.add_argument("--cgroup", help="cgroup v2 directory for cgroup programs")
    p.add_argument("--pcap", help="run packet programs (XDP, tc, socket filters) over the "
                                  "packets of this capture file")
    p.add_argument("--freq", type=int, default=49,
                   help="sampling frequency (Hz) for perf_event programs (default 49)")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--interval", type=float, default=1.0,
                   help="table refresh period in seconds (default 1)")
    p.add_argument("--pin", metavar="DIR",
                   help="pin the maps in this bpffs directory (kept after exit); a later "
                        "run with the same DIR reuses them, entries included, as libbpf "
                        "does with pinned maps")
    p.add_argument("--pin-replace", action="store_true",
                   help="with --pin: remove the maps an earlier run pinned in DIR first, "
                        "so this run starts with fresh maps")
    p.add_argument("--map-set", dest="map_sets", action="append", default=[], nargs=2,
                   metavar=("MAP", "KEY=VALUE"),
                   help="write an entry before the programs run (repeatable), e.g. "
                        "--map-set blocked_ports 53=1; KEY and VALUE are integers or "
                        "hex:BYTES")
    p.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME[=VAL]",
                   help="preprocessor definition when compiling C")
    p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR",
                   help="include directory when compiling C")
    p.add_argument("--const", dest="constants", action="append", default=[],
                   metavar="NAME=VAL", help="set a `const volatile` global before loading")
    p.add_argument("-p", "--program", dest="programs", action="append", default=[],
                   metavar="NAME", help="attach only these programs (repeatable)")
    p.add_argument("--unit", default="value", help="label of histogram values (e.g. usecs)")
    p.add_argument("--flamegraph", metavar="FILE",
                   help="at the end, write a flame graph (.html or .svg) of the stacks in the "
                        "object's STACK_TRACE maps (joined with the maps counting by stack id)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="JSON lines instead of a screen")
    out.add_argument("--plain", action="store_true",
                     help="plain lines even on a terminal (events as they come, tables at "
                          "the end)")
    out.add_argument("--periodic", action="store_true",
                     help="plain lines, and the tables every --interval seconds")
    p.set_defaults(func=cmd_run)


# ---- option parsing ------------------------------------------------------------
def parse_assignments(items: list[str], what: str, need_value: bool) -> dict[str, Any]:
    """NAME=VAL options: values as int (any base), true/false, else text.

    >>> parse_assignments(["A=0x10", "B=yes", "C"], "-D", need_value=False)
    {'A': 16, 'B': 'yes', 'C': None}
    """
    out: dict[str, Any] = {}
    for item in items:
        name, sep, val = item.partition("=")
        name = name.strip()
        if not name or not name.replace("_", "a").isalnum():
            raise Error(f"{what} {item!r}: expected NAME=VALUE")
        if not sep:
            if need_value:
                raise Error(f"{what} {item!r}: expected NAME=VALUE")
            out[name] = None
            continue
        low = val.strip().lower()
        if low in ("true", "false"):
            out[name] = 1 if low == "true" else 0
            continue
        try:
            out[name] = int(val, 0)
        except ValueError:
            out[name] = val
    return out


# ---- packets -------------------------------------------------------------------
@dataclass
class PacketFeeder:
    """Runs packet programs over the frames of a capture, a chunk per poll, and
    counts their return values (works on both backends through test_run)."""

    programs: list[Any]
    frames: list[bytes]
    position: int = 0
    verdicts: dict[str, dict[str, int]] = field(default_factory=dict)
    name: str = "packets"

    def _verdict(self, prog: Any, retval: int) -> str:
        kind = prog.spec.attach_kind
        if kind == "xdp":
            return _XDP_ACTIONS.get(retval, f"ret {retval}")
        if kind in ("tc", "tcx", "tc_action", "netkit"):
            signed = retval - (1 << 32) if retval >= 1 << 31 else retval
            return _TC_ACTIONS.get(signed, f"ret {signed}")
        if kind == "socket":
            return "drop" if retval == 0 else "keep"
        return f"ret {retval}"

    def poll(self, timeout: float) -> list[Any]:
        deadline = time.monotonic() + max(timeout, 0.0)
        while self.position < len(self.frames):
            frame = self.frames[self.position]
            self.position += 1
            for prog in self.programs:
                r = prog.test_run(frame)
                counts = self.verdicts.setdefault(prog.name, {})
                v = self._verdict(prog, r.retval)
                counts[v] = counts.get(v, 0) + 1
            if time.monotonic() >= deadline:
                break
        else:
            if timeout:
                time.sleep(min(timeout, 0.05))
        return []

    @property
    def done(self) -> bool:
        """Every frame of the capture has been run."""
        return self.position >= len(self.frames)

    def close(self) -> None:
        pass

    def status(self) -> str:
        parts = [f"packets {self.position}/{len(self.frames)}"]
        for name, counts in self.verdicts.items():
            parts.append(name + ": " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        return "; ".join(parts)


def read_frames(path: str) -> list[bytes]:
    """Frames of a classic (Ethernet) pcap file."""
    from ..vm.hooks import read_pcap

    if not os.path.exists(path):
        raise Error(f"--pcap {path}: no such file")
    return [frame for _, frame in read_pcap(path)]


class PacketSocketDrain:
    """Keeps a packet socket's receive queue empty (its filter runs regardless)."""

    name = "socket"

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sock.setblocking(False)

    def poll(self, timeout: float) -> list[Any]:
        end = time.monotonic() + timeout
        while True:
            try:
                self.sock.recv(65536)
            except BlockingIOError:
                if time.monotonic() >= end:
                    return []
                time.sleep(min(0.02, max(end - time.monotonic(), 0)))
            except OSError:
                return []

    def close(self) -> None:
        self.sock.close()


# ---- attaching -----------------------------------------------------------------
@dataclass
class Plan:
    """What `ebpf run` does with each program."""

    links: list[Any] = field(default_factory=list)
    packet_programs: list[Any] = field(default_factory=list)
    sockets: list[socket.socket] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def close(self) -> int:
        n = 0
        for link in reversed(self.links):
            try:
                link.close()
                n += 1
            except Error as e:
                log.warning("detaching %r: %s", link, e)
        self.links.clear()
        for s in self.sockets:
            s.close()
        self.sockets.clear()
        return n


def tail_call_targets(obj: Any) -> set[str]:
    """Names of programs placed in program arrays (run by tail calls, not attached)."""
    from ..uapi import MapType

    names: set[str] = set()
    for m in obj.spec.maps.values():
        if m.type == MapType.PROG_ARRAY:
            for _, v in m.contents:
                if isinstance(v, str):
                    names.add(v)
                else:
                    names.add(getattr(v, "name", ""))
    return names


def _section_hint(prog: Any) -> str:
    return f"program {prog.name} (SEC(\"{prog.spec.section}\"))"


def plan_and_attach(obj: Any, args: argparse.Namespace, backend: str) -> Plan:
    """Attach every program; packet programs go to --ifname or --pcap.
    On an error, what was attached is detached again."""
    from ..spec.sections import needs_target

    plan = Plan()
    wanted = set(args.programs)
    unknown = wanted - set(obj.programs)
    if unknown:
        raise Error(f"--program {', '.join(sorted(unknown))}: no such program "
                    f"(the object has {', '.join(sorted(obj.programs)) or 'none'})")
    targets = tail_call_targets(obj)
    try:
        for name, prog in obj.programs.items():
            if wanted and name not in wanted:
                continue
            if name in targets and not wanted:
                plan.skipped.append(f"{name} (tail-call target)")
                continue
            _attach_one(prog, args, backend, needs_target(prog.spec), plan)
    except BaseException:
        plan.close()
        raise
    return plan


def _attach_one(prog: Any, args: argparse.Namespace, backend: str, needs: bool,
                plan: Plan) -> None:
    spec = prog.spec
    kind = spec.attach_kind
    what = _section_hint(prog)
    if kind in PACKET_KINDS:
        if args.pcap:
            plan.packet_programs.append(prog)
            return
        if not args.ifname:
            raise AttachError(f"{what} needs packets: pass --ifname IF (e.g. --ifname lo) to "
                              "attach it to an interface, or --pcap FILE to run it over a capture")
        if backend != "kernel":
            raise AttachError(f"{what}: the vm backend cannot attach to interface "
                              f"{args.ifname}; use --pcap FILE (or --backend kernel)")
        if kind == "socket":
            sock = _packet_socket(args.ifname)
            plan.sockets.append(sock)
            plan.links.append(prog.attach(sock=sock))
        else:
            plan.links.append(prog.attach(ifname=args.ifname))
        return
    if kind == "cgroup" or kind == "lsm_cgroup":
        if not args.cgroup:
            raise AttachError(f"{what} needs a cgroup: pass --cgroup DIR "
                              "(e.g. --cgroup /sys/fs/cgroup)")
        plan.links.append(prog.attach(cgroup=args.cgroup))
        return
    if kind in ("uprobe", "uprobe_multi", "usdt"):
        target: dict[str, Any] = {}
        if args.pid:
            target["pid"] = args.pid
        if needs or not spec.attach_to:
            if not args.binary:
                raise AttachError(f"{what} needs a binary and a function: pass --binary PATH "
                                  "--symbol NAME (e.g. --binary libc.so.6 --symbol malloc)")
            target["binary"] = args.binary
            if args.symbol:
                target["symbol"] = args.symbol
            elif not spec.attach_to:
                raise AttachError(f"{what} needs a function: pass --symbol NAME")
        if backend != "kernel":
            raise AttachError(f"{what}: uprobes are kernel events; use --backend kernel")
        plan.links.append(prog.attach(**target))
        return
    if kind == "perf_event":
        if backend != "kernel":
            plan.links.append(prog.attach(interval=1.0 / max(args.freq, 1)))
            return
        plan.links.append(prog.attach(perf_event=dict(type=1, config=0,  # software cpu-clock
                                                      sample_freq=args.freq)))
        plan.notes.append(f"{prog.name}: sampling every CPU at {args.freq} Hz")
        return
    if needs:
        raise AttachError(f"{what} needs a target ebpf run cannot give (attach kind "
                          f"{kind or 'unknown'}); attach it from Python with prog.attach(...), "
                          "or leave it out with --program NAME for the others")
    link = prog.attach()
    plan.links.append(link)
    if backend == "vm" and kind in ("tracepoint", "raw_tracepoint", "tracing", "lsm", "kprobe",
                                    "iter"):
        plan.notes.append(f"{prog.name}: on the vm backend kernel events do not reach it; it "
                          "runs when Python fires them (ebpf.vm.hooks.fire)")


def _packet_socket(ifname: str) -> socket.socket:
    """A raw packet socket bound to ``ifname`` (all protocols)."""
    import socket

    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    except PermissionError as e:
        from ..errors import PrivilegeError

        raise PrivilegeError(f"opening a packet socket on {ifname}", e.errno,
                             capability="CAP_NET_RAW") from None
    except OSError as e:
        raise AttachError(f"opening a packet socket on {ifname}: {e}") from None
    try:
        s.bind((ifname, 0))
    except OSError as e:
        s.close()
        raise AttachError(f"--ifname {ifname}: {e.strerror or e}") from None
    return s


# ---- the verb ------------------------------------------------------------------
def uses_trace_printk(obj: Any) -> bool:
    for prog in obj.programs.values():
        for ins in prog.spec.instructions:
            if ins.opcode == 0x85 and ins.src == 0 and ins.imm in _TRACE_HELPERS:
                return True
    return False


def choose_backend(requested: str | None) -> tuple[str, str]:
    """(backend, why) for the one-line note."""
    if requested:
        return requested, "--backend"
    forced = os.environ.get("EBPF_BACKEND")
    if forced:
        return forced, "from EBPF_BACKEND"
    try:
        from ..kernel.probes import bpf_usable
        usable = bpf_usable()
    except ImportError:
        usable = False
    if usable:
        return "kernel", "bpf(2) is usable here"
    why = "not root" if hasattr(os, "geteuid") and os.geteuid() != 0 else "bpf(2) is not usable"
    return "vm", f"{why}: programs run in the in-process runtime"


def compiled(source: Path, args: argparse.Namespace, workdir: str) -> Path:
    """The object file: ``source`` itself, or what compiling it gives."""
    if not source.exists():
        raise Error(f"{source}: no such file")
    if source.suffix == ".c":
        from ..toolchain import compile as cc

        out = Path(workdir) / (source.name[:-2] + ".o")
        defines = parse_assignments(args.defines, "-D", need_value=False)
        return cc(source, out, include_dirs=list(args.include_dirs),
                  defines={k: ("1" if v is None else str(v)) for k, v in defines.items()},
                  cache=True)
    return source


def _entry_word(word: str, what: str) -> int | bytes:
    """An integer (any base) or ``hex:BYTES`` from a --map-set KEY or VALUE."""
    if word.startswith("hex:"):
        try:
            return bytes.fromhex(word[4:])
        except ValueError:
            raise Error(f"--map-set: bad {what} {word!r}: hex:BYTES needs hex digits") from None
    try:
        return int(word, 0)
    except ValueError:
        raise Error(f"--map-set: bad {what} {word!r}: use an integer or hex:BYTES") from None


def parse_map_sets(items: list[list[str]]) -> list[tuple[str, int | bytes, int | bytes]]:
    """``--map-set MAP KEY=VALUE`` options as (map, key, value).

    >>> parse_map_sets([["blocked_ports", "53=1"], ["m", "0x10=hex:0100"]])
    [('blocked_ports', 53, 1), ('m', 16, b'\\x01\\x00')]
    """
    out = []
    for name, entry in items:
        key, sep, value = entry.partition("=")
        if not sep or not key or not value:
            raise Error(f"--map-set {name} {entry!r}: expected KEY=VALUE (e.g. 53=1)")
        out.append((name, _entry_word(key.strip(), "key"), _entry_word(value.strip(), "value")))
    return out


def _fill_maps(obj: Any, sets: list[tuple[str, int | bytes, int | bytes]]) -> None:
    for name, key, value in sets:
        if name not in obj.maps:
            raise Error(f"--map-set {name}: no such map (the object has "
                        f"{', '.join(sorted(obj.maps)) or 'none'})")
        obj.maps[name][key] = value


def _pinned_names(spec: Any) -> list[str]:
    """The maps `--pin` pins: those shown as tables, and ring/perf buffers."""
    from ..live import _GLOBAL_SECTIONS, _HIDDEN_TYPES
    from ..uapi import MapType

    return [name for name, m in spec.maps.items()
            if m.type in (MapType.RINGBUF, MapType.PERF_EVENT_ARRAY)
            or not (m.type in _HIDDEN_TYPES or name.startswith(_GLOBAL_SECTIONS)
                    or m.section.startswith(_GLOBAL_SECTIONS))]


def _prepare_pins(directory: str, names: list[str], replace: bool) -> list[str]:
    """Make the pin directory; return the names already pinned there (removed
    first with --pin-replace)."""
    from ..kernel.pin import ensure_bpffs_dir

    ensure_bpffs_dir(directory)
    existing = [n for n in names if os.path.exists(os.path.join(directory, n))]
    if replace:
        for n in existing:
            os.unlink(os.path.join(directory, n))
        return []
    return existing


def _needs_kernel(spec: Any, args: argparse.Namespace) -> list[Any]:
    """Selected programs that only kernel events can run."""
    return [p for name, p in spec.programs.items()
            if (not args.programs or name in args.programs) and p.needs_kernel_events]


def cmd_run(args: argparse.Namespace) -> int:
    from .. import objects
    from ..live import BufferSource, LiveView, TraceSource
    from ..spec import ObjectSpec
    from ..uapi import MapType

    constants = parse_assignments(args.constants, "--const", need_value=True)
    backend, why = choose_backend(args.backend)
    if backend not in ("kernel", "vm"):
        raise Error(f"unknown backend {backend!r} (kernel or vm)")
    if args.duration is not None and args.duration < 0:
        raise Error("--duration must not be negative")
    if args.interval <= 0:
        raise Error("--interval must be positive")
    if args.freq <= 0:
        raise Error("--freq must be positive")
    if args.pin and backend != "kernel":
        raise NotSupportedError("--pin", detail="pinning needs the kernel backend (bpffs)")
    if args.pin_replace and not args.pin:
        raise Error("--pin-replace goes with --pin DIR")
    map_sets = parse_map_sets(args.map_sets)
    err = sys.stderr
    print(f"ebpf run: backend {backend} ({why})", file=err)
    frames = read_frames(args.pcap) if args.pcap else None

    import tempfile

    with tempfile.TemporaryDirectory(prefix="ebpf-run-") as work:
        path = compiled(Path(args.source), args, work)
        spec = ObjectSpec.from_file(path)
        if not spec.programs:
            raise Error(f"{args.source}: the object has no programs, nothing to run "
                        "(ebpf inspect shows what it holds)")
        tracing = _needs_kernel(spec, args)
        if backend == "vm" and tracing and args.backend is None and \
                not os.environ.get("EBPF_BACKEND"):
            from ..errors import PrivilegeError

            listed = ", ".join(f"{p.name} (SEC(\"{p.section}\"))" for p in tracing)
            plural = "s" if len(tracing) > 1 else ""
            raise PrivilegeError(
                f"program{plural} {listed} need{'' if plural else 's'} kernel events, and bpf(2) "
                "is not usable here: run ebpf as root "
                "(or with CAP_BPF and CAP_PERFMON); or pass --backend vm to load it in the "
                "in-process runtime, where only events Python fires (ebpf.vm.hooks.fire) "
                "reach it", capability="CAP_BPF and CAP_PERFMON")
        pinning: dict[str, Any] = {}
        reused: list[str] = []
        if args.pin:
            from ..spec import PinType

            names = _pinned_names(spec)
            reused = _prepare_pins(args.pin, names, args.pin_replace)
            pinning = dict.fromkeys(names, PinType.BY_NAME)
        try:
            obj = objects.load(spec, backend=backend, constants=constants, pin_path=args.pin,
                               pinning=pinning)
        except Error as e:
            from ..errors import PrivilegeError

            if reused:
                e.hint = (f"{args.pin} holds maps pinned by an earlier run "
                          f"({', '.join(reused)}); --pin-replace removes them first")
            elif isinstance(e, PrivilegeError) and backend == "kernel":
                vm_how = " --pcap FILE" if any(p.attach_kind in PACKET_KINDS
                                               for p in spec.programs.values()) else ""
                e.hint = ("or run it in the in-process runtime: "
                          f"--backend vm{vm_how}")
            raise
        for name in reused:
            print(f"ebpf run: reusing map {name} pinned at {os.path.join(args.pin, name)} "
                  "(its entries are kept; --pin-replace starts afresh)", file=err)
        plan = Plan()
        sources: list[Any] = []
        view = None
        feeder = None
        try:
            # readers first: perf buffers drop what arrives before they exist
            for m in obj.maps.values():
                if m.type in (MapType.RINGBUF, MapType.PERF_EVENT_ARRAY):
                    sources.append(BufferSource(m, spec.btf))
            if uses_trace_printk(obj):
                try:
                    sources.append(TraceSource(backend))
                except Error as e:
                    print(f"ebpf run: bpf_trace_printk output not shown: {e}", file=err)
            _fill_maps(obj, map_sets)
            with warnings.catch_warnings():  # the notes below say it for the vm
                warnings.simplefilter("ignore", RuntimeWarning)
                plan = plan_and_attach(obj, args, backend)
            if plan.packet_programs:
                assert frames is not None
                feeder = PacketFeeder(plan.packet_programs, frames)
                sources.append(feeder)
            for s in plan.sockets:
                sources.append(PacketSocketDrain(s))
            attached = ", ".join(_describe(link) for link in plan.links) or "nothing"
            print(f"ebpf run: attached {attached}", file=err)
            for name in plan.skipped:
                print(f"ebpf run: not attached: {name}", file=err)
            for note in plan.notes:
                print(f"ebpf run: note: {note}", file=err)
            if feeder is not None:
                print(f"ebpf run: running {', '.join(p.name for p in plan.packet_programs)} "
                      f"over {len(frames or [])} packets of {args.pcap}", file=err)
            mode = "json" if args.json else ("plain" if args.plain or args.periodic else None)
            view = LiveView(obj, sources=sources, mode=mode, interval=args.interval,
                            title=f"[{backend}] ebpf run {args.source}",
                            periodic=args.periodic, unit=args.unit,
                            status=feeder.status if feeder else None)
            if view.mode != "tty" and args.duration is None and sys.stdin.isatty():
                print("ebpf run: Ctrl-C to stop", file=err)
            if feeder is not None:  # a capture ends the run once every packet ran
                view.run(args.duration, until=lambda: feeder.done)
            else:
                view.run(args.duration)
        finally:
            detached = plan.close()
            if view is not None:
                try:
                    view.drain()
                except KeyboardInterrupt:
                    pass
            for src in sources:
                try:
                    src.close()
                except Error as e:
                    log.warning("closing %s: %s", getattr(src, "name", src), e)
            try:
                if view is not None:
                    if detached:
                        print(f"ebpf run: detached {detached} link(s)", file=err)
                    view.summary()
                    if args.flamegraph:
                        _write_flamegraph(view, args.flamegraph, err)
                    if feeder is not None:
                        print(f"packets: {feeder.status()}",
                              file=sys.stdout if view.mode != "json" else err)
            finally:
                obj.close()
    return 0


def _write_flamegraph(view: Any, path: str, err: Any) -> None:
    """The flame graph of the stacks the view shows (``--flamegraph``)."""
    from ..stacks import write_flame_graph
    from ..stacks.maps import StackView, profile_of

    views = [s for s in view.snapshots() if isinstance(s, StackView)]
    if not views:
        print("ebpf run: no flame graph written: the object has no STACK_TRACE map",
              file=err)
        return
    prof = profile_of(views)
    write_flame_graph(prof, path, title=f"ebpf run: {', '.join(v.name for v in views)}")
    print(f"ebpf run: flame graph of {prof.total} {prof.unit} written to {path}", file=err)


def _describe(link: Any) -> str:
    prog = getattr(link, "program", None)
    name = getattr(prog, "name", "?")
    desc = getattr(link, "description", "")
    return f"{name} ({desc})" if desc else name
