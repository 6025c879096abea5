"""funclatency: time user functions (uprobe at entry, uretprobe at return) and
print the latency distribution as a histogram.

The function is ``lib:func`` or ``/path/prog:func``; kernel functions would need
kprobes or fentry, which this kernel does not offer, and are refused with that reason.
"""

from __future__ import annotations

from .base import (
    Output,
    Ready,
    ToolParser,
    attached,
    every_interval,
    hms,
    require_kernel,
)
from .probes import expand

EXAMPLES = """\
    ebpf tool funclatency c:read             # time libc read(), in nanoseconds
    ebpf tool funclatency -u c:read          # in microseconds
    ebpf tool funclatency -m -p 181 c:read   # in milliseconds, PID 181 only
    ebpf tool funclatency -i 2 c:open        # print every 2 seconds
"""


def parser() -> ToolParser:
    p = ToolParser("funclatency", "Time functions and print latency as a histogram",
                   EXAMPLES)
    p.pid()
    p.add_argument("-i", "--interval", type=float, default=99999999.0,
                   help="summary interval, in seconds")
    p.add_argument("-d", "--duration", type=float, help="duration of trace, in seconds")
    p.timestamp()
    unit = p.add_mutually_exclusive_group()
    unit.add_argument("-u", "--microseconds", action="store_true", help="microsecond histogram")
    unit.add_argument("-m", "--milliseconds", action="store_true", help="millisecond histogram")
    p.add_argument("pattern", help="the function: lib:func or /path/to/prog:func")
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    import ebpf

    args = parser().parse_args(argv)
    require_kernel("funclatency")
    out = Output(args.json)
    targets = expand(args.pattern, args.pid or None, kinds="u")
    if len(targets) != 1:
        from ..errors import Error

        raise Error(f"{args.pattern!r} matches {len(targets)} functions; funclatency times "
                    "one: " + ", ".join(t.name for t in targets[:8]))
    (t,) = targets
    units, unit = (1000000, "msecs") if args.milliseconds else \
        (1000, "usecs") if args.microseconds else (1, "nsecs")
    kw = {"binary": t.binary, "symbol": t.name}
    if args.pid:
        kw["pid"] = args.pid
    with attached("funclatency", {"target_pid": args.pid, "units": units},
                  attach=False) as obj, \
            obj.programs["func_entry"].attach(**kw), \
            obj.programs["func_return"].attach(retprobe=True, **kw):
        m = obj.maps["hists"]

        def tick(last: bool) -> None:
            slots = next(iter(m.values())).slots if len(m) else []
            m.clear()
            if args.timestamp:
                out.text(f"\n{hms()}")
            h = ebpf.Histogram(list(slots), unit=unit)
            out.text()
            out.histogram(h, {"function": t.name})
            if h.total:
                out.text(f"\ntotal: {h.total} calls")

        note = f'Tracing 1 functions for "{args.pattern}"... Hit Ctrl-C to end.'
        return every_interval(out, note, ready, args, tick, count=99999999)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
