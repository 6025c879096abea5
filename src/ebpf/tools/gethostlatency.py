"""gethostlatency: show latency of host name lookups (getaddrinfo, gethostbyname,
gethostbyname2) system-wide: uprobes and uretprobes on the C library.
"""

from __future__ import annotations

import contextlib

from ..errors import Error
from .base import Output, Ready, Row, ToolParser, hms, require_kernel, stream, text

EXAMPLES = """\
    ebpf tool gethostlatency          # time getaddrinfo/gethostbyname[2] calls
    ebpf tool gethostlatency -p 181   # only trace PID 181
"""
FUNCS = ("getaddrinfo", "gethostbyname", "gethostbyname2")


def parser() -> ToolParser:
    p = ToolParser("gethostlatency", "Show latency for getaddrinfo/gethostbyname[2] calls",
                   EXAMPLES)
    p.pid()
    p.add_argument("-l", "--libc", default="c", help="the C library (path or name)")
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    from ..kernel.uprobe import resolve_binary

    args = parser().parse_args(argv)
    require_kernel("gethostlatency")
    lib = resolve_binary("libc.so.6" if args.libc in ("c", "libc") else args.libc,
                         args.pid or None)

    def hook(obj) -> contextlib.ExitStack:
        where = {"binary": lib, **({"pid": args.pid} if args.pid else {})}
        hooked = 0
        with contextlib.ExitStack() as st:
            for func in FUNCS:
                try:
                    st.enter_context(obj.programs["lookup_enter"].attach(symbol=func, **where))
                    st.enter_context(obj.programs["lookup_return"].attach(symbol=func,
                                                                          retprobe=True, **where))
                    hooked += 1
                except Error as e:
                    Output(args.json).note(f"gethostlatency: {func} not traced: {e}")
            if not hooked:
                raise Error(f"gethostlatency: none of {', '.join(FUNCS)} could be probed in {lib}")
            return st.pop_all()

    def fmt(ev) -> Row:
        comm, host, ms = text(ev.comm), text(ev.host), ev.delta_ns / 1e6
        return ({"pid": ev.pid, "comm": comm, "lat_ms": ms, "host": host},
                f"{hms():<9} {ev.pid:<7} {comm:<16} {ms:>10.2f} {host}")

    return stream("gethostlatency", args, {"target_pid": args.pid},
                  f"{'TIME':<9} {'PID':<7} {'COMM':<16} {'LATms':>10} HOST", fmt, ready, hook=hook)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
