"""syscount: summarize syscall counts, per syscall or per process (``-P``).

Raw tracepoints sys_enter (and sys_exit for ``-x``, ``-e`` and ``-L``) count into a
hash keyed by (pid, syscall nr); names come from the system's unistd table.
"""

from __future__ import annotations

import collections
import errno as errno_mod
import platform
import re
from pathlib import Path

from .base import Output, Ready, ToolParser, announce, attached, hms, intervals, require_kernel

EXAMPLES = """\
    ebpf tool syscount                # count syscalls until Ctrl-C
    ebpf tool syscount -p 181         # only PID 181
    ebpf tool syscount -i 1 -d 10     # print every second, for 10 seconds
    ebpf tool syscount -T 5           # top 5 rows
    ebpf tool syscount -x             # only failed syscalls
    ebpf tool syscount -e ENOENT      # only syscalls failing with ENOENT
    ebpf tool syscount -L             # also show total latency
    ebpf tool syscount -P             # count per process
"""
_UNISTD = {
    "x86_64": ["/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"],
    "aarch64": ["/usr/include/asm-generic/unistd.h"],
}


def syscall_names() -> dict[int, str]:
    """Syscall number -> name, from the C library's unistd header."""
    names: dict[int, str] = {}
    for path in _UNISTD.get(platform.machine(), ["/usr/include/asm/unistd_64.h"]):
        try:
            src = Path(path).read_text()
        except OSError:
            continue
        for name, nr in re.findall(r"#define\s+__NR3?2?_(\w+)\s+(\d+)\b", src):
            names.setdefault(int(nr), name)
        if names:
            break
    return names


def comm_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def parser() -> ToolParser:
    p = ToolParser("syscount", "Summarize syscall counts and latencies.", EXAMPLES)
    p.pid()
    p.add_argument("-i", "--interval", type=float, help="print summary at this interval (s)")
    p.add_argument("-d", "--duration", type=float, help="total duration of trace, in seconds")
    p.add_argument("-T", "--top", type=int, default=10, help="print only the top syscalls")
    p.add_argument("-x", "--failures", action="store_true", help="trace only failed syscalls")
    p.add_argument("-e", "--errno", help="trace only syscalls that return this error "
                   "(numeric or EPERM, etc.)")
    p.add_argument("-L", "--latency", action="store_true",
                   help="collect syscall latency (total, in microseconds)")
    p.add_argument("-m", "--milliseconds", action="store_true",
                   help="display latency in milliseconds (default: microseconds)")
    p.add_argument("-P", "--process", action="store_true",
                   help="count by process and not by syscall")
    p.add_argument("-l", "--list", action="store_true", help="print list of recognized syscalls")
    return p


def _errno(text: str) -> int:
    if text.isdigit():
        return int(text)
    value = getattr(errno_mod, text.upper(), None)
    if value is None:
        raise SystemExit(f"syscount: unknown errno {text!r}")
    return int(value)


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    names = syscall_names()
    out = Output(args.json)
    if args.list:
        for nr in sorted(names):
            out.row({"nr": nr, "name": names[nr]}, names[nr])
        return 0
    require_kernel("syscount")
    err = _errno(args.errno) if args.errno else 0
    at_exit = bool(args.failures or err or args.latency)
    consts = {"target_pid": args.pid, "at_exit": at_exit, "failures_only": args.failures,
              "only_errno": err}
    with attached("syscount", consts) as obj:
        what = "failed syscalls" if args.failures else "syscalls"
        announce(out, f"Tracing {what}, printing top {args.top}... Ctrl+C to quit.", ready)

        def tick(last: bool) -> None:
            counts = list(obj.maps["counts"].items())  # read before clear()
            lat = dict(obj.maps["latency"].items()) if args.latency else {}
            if args.interval:
                obj.maps["counts"].clear()
                obj.maps["latency"].clear()
            show(out, args, names, counts, lat)

        interval = args.interval or 99999999.0
        intervals(interval, 99999999, args.duration, tick)
    return 0


def show(out: Output, args, names: dict[int, str], counts, lat) -> None:
    totals: collections.Counter = collections.Counter()
    ns: collections.Counter = collections.Counter()
    for key, n in counts:
        k = key.pid if args.process else key.nr
        totals[k] += n
        ns[k] += lat.get(key, 0)
    unit, div = ("MSECS", 1e6) if args.milliseconds else ("USECS", 1e3)
    out.text(f"[{hms()}]")
    first = "PID    COMM" if args.process else "SYSCALL"
    head = f"{first:<22} {'COUNT':>10}"
    if args.latency:
        head += f" {'TIME (' + unit.lower() + ')':>16}"
    out.text(head)
    for k, n in totals.most_common(args.top):
        if args.process:
            label, rec = f"{k:<6} {comm_of(k)}", {"pid": k, "comm": comm_of(k)}
        else:
            label, rec = names.get(k, f"syscall_{k}"), {"syscall": names.get(k, f"syscall_{k}"),
                                                         "nr": k}
        line = f"{label:<22} {n:>10}"
        rec["count"] = n
        if args.latency:
            line += f" {ns[k] / div:>16.3f}"
            rec["total_ns"] = ns[k]
        out.row(rec, line)
    out.text()


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
