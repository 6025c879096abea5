"""funccount: count function calls (uprobes) and tracepoint hits matching a pattern.

``t:category:event`` (globs allowed) counts tracepoint hits; ``lib:func*`` or
``/path/prog:func*`` counts calls of user functions through uprobes (one per
function, the BPF cookie saying which). Kernel functions would need kprobes, which
this kernel lacks; they are refused with that reason.
"""

from __future__ import annotations

import contextlib

from .base import (
    Output,
    Ready,
    ToolParser,
    attached,
    every_interval,
    hms,
    require_kernel,
)
from .probes import attach, expand

EXAMPLES = """\
    ebpf tool funccount 'c:malloc'           # count libc malloc() calls
    ebpf tool funccount -p 181 'c:str*'      # count libc str* calls of PID 181
    ebpf tool funccount 't:sched:sched_fork' # count the sched_fork tracepoint
    ebpf tool funccount 't:syscalls:sys_enter_*'  # count every syscall entry
    ebpf tool funccount -i 1 '/bin/bash:*readline*'  # every second
"""


def parser() -> ToolParser:
    p = ToolParser("funccount", "Count functions, tracepoints, and USDT probes", EXAMPLES)
    p.pid()
    p.add_argument("-i", "--interval", type=float, default=99999999.0,
                   help="summary interval, seconds")
    p.add_argument("-d", "--duration", type=float, help="total duration of trace, seconds")
    p.timestamp()
    p.add_argument("pattern", help="search expression for events")
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    require_kernel("funccount")
    out = Output(args.json)
    targets = expand(args.pattern, args.pid or None)
    if len(targets) > 4096:
        from ..errors import Error

        raise Error(f"{args.pattern!r} matches {len(targets)} probes; 4096 at most")
    with attached("funccount", {"target_pid": args.pid}, attach=False) as obj, \
            contextlib.ExitStack() as st:
        for i, t in enumerate(targets):
            prog = obj.programs["count_tracepoint" if t.kind == "tracepoint" else "count_uprobe"]
            st.enter_context(attach(prog, t, args.pid or None, cookie=i))
        m = obj.maps["counts"]

        def tick(last: bool) -> None:
            counts = {i: sum(v) for i, v in m.items() if i < len(targets) and sum(v)}
            for i in counts:
                m[i] = [0] * len(m[i])
            if args.timestamp:
                out.text(f"\n{hms()}")
            out.text(f"\n{'FUNC':<40} {'COUNT':>8}")
            for i, n in sorted(counts.items(), key=lambda kv: kv[1]):
                t = targets[i]
                name = t.label if t.kind == "tracepoint" else t.name
                out.row({"func": name, "target": t.label, "count": n}, f"{name:<40} {n:>8}")

        note = f'Tracing {len(targets)} functions for "{args.pattern}"... Hit Ctrl-C to end.'
        return every_interval(out, note, ready, args, tick, count=99999999)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
