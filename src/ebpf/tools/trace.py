"""trace: trace functions (uprobes, uretprobes) and tracepoints, printing a
printf-style message for each hit, like BCC's trace.

Each probe is ``SPEC "FORMAT", ARG, ...``: ``t:category:event`` with ``args->FIELD``,
``[u:|p:]lib:func`` with ``arg1``..``arg6``, ``r:lib:func`` with ``retval``
(``c`` is the C library). The BPF program is generated from the probes, compiled
on first use and cached. Kernel functions (``p::func``) need kprobes, which this
kernel does not have; filters in parentheses are not supported.
"""

from __future__ import annotations

import contextlib
import time

from .base import (
    Output,
    Ready,
    Row,
    ToolParser,
    hms,
    object_for_text,
    print_events,
    require_kernel,
    text,
)
from .probes import attach, expand
from .tracegen import build, c_source, render, split_probe

EXAMPLES = """\
    ebpf tool trace 'c:open "%s", arg1'
        trace libc open() calls and print the path
    ebpf tool trace 'r:c:malloc "ret=%p", retval'
        print malloc()'s return value
    ebpf tool trace 't:syscalls:sys_enter_openat "%s", args->filename'
        trace the openat tracepoint with the file name
    ebpf tool trace -p 181 'c:write "fd=%d size=%d", arg1, arg3'
        only PID 181
"""


def parser() -> ToolParser:
    p = ToolParser("trace", "Attach to functions and print trace messages", EXAMPLES)
    p.pid()
    p.add_argument("-L", "--tid", type=int, default=0, help="trace this thread ID only")
    p.add_argument("-T", "--time", action="store_true", help="include a time column")
    p.add_argument("-t", "--timestamp", action="store_true",
                   help="include a timestamp column (seconds since start)")
    p.add_argument("-n", "--name", help="only print events whose process name contains this")
    p.add_argument("-M", "--max-events", type=int, help="stop after this many events")
    p.duration()
    p.add_argument("probes", nargs="+", metavar="probe",
                   help='probe specifier: SPEC "FORMAT", ARG, ...')
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    import ebpf

    args = parser().parse_args(argv)
    require_kernel("trace")
    out = Output(args.json)
    probes = []
    for ptext in args.probes:
        spec, _, _ = split_probe(ptext)
        probes += build(ptext, expand(spec, args.pid or None, kinds="tpur"))
    obj_path = object_for_text("trace", c_source(probes))
    start = time.monotonic_ns()
    seen = [0]
    with ebpf.load(obj_path, backend="kernel", constants={"target_pid": args.pid,
                                                          "target_tid": args.tid}) as obj, \
            contextlib.ExitStack() as st:
        for i, p in enumerate(probes):
            st.enter_context(attach(obj.programs[f"probe_{i}"], p.target, args.pid or None))
        head = ((f"{'TIME':<8} " if args.time else "") +
                (f"{'TIME':<14} " if args.timestamp else "") +
                f"{'PID':<7} {'TID':<7} {'COMM':<15} {'FUNC':<16} -")

        def fmt(ev) -> Row:
            comm = text(ev.comm)
            if args.name and args.name not in comm:
                return None
            if args.max_events is not None and seen[0] >= args.max_events:
                return None
            seen[0] += 1
            p = probes[ev.probe]
            func = p.target.name.split("/")[-1]
            msg = render(p, list(ev.vals), [bytes(s) for s in ev.strs])
            t = (ev.ts - start) / 1e9
            return ({"pid": ev.pid, "tid": ev.tid, "comm": comm, "func": func,
                     "probe": p.spec, "message": msg, "time": t},
                    (f"{hms():<8} " if args.time else "") +
                    (f"{t:<14.6f} " if args.timestamp else "") +
                    f"{ev.pid:<7} {ev.tid:<7} {comm:<15.15} {func:<16} {msg}")

        stop = (lambda: seen[0] >= args.max_events) if args.max_events else None
        print_events(obj, out, head, fmt, args.duration, ready, stop=stop)
    return 0


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
