"""opensnoop: trace openat() syscalls: who opened which file, and the result.

Tracepoints syscalls/sys_enter_openat and sys_exit_openat; ``--name`` filters
by process name (comm), as the classic tool does; ``-x`` shows failed opens only.
"""

from __future__ import annotations

import time

from .base import Ready, Row, ToolParser, hms, stream, text

EXAMPLES = """\
    ebpf tool opensnoop              # trace all openat() syscalls
    ebpf tool opensnoop -T           # include a time column
    ebpf tool opensnoop -x           # only show failed opens
    ebpf tool opensnoop -p 181       # only trace PID 181
    ebpf tool opensnoop -n main      # only print process names containing "main"
    ebpf tool opensnoop -e           # show extended fields (flags)
"""


def parser() -> ToolParser:
    p = ToolParser("opensnoop", "Trace open() syscalls", EXAMPLES)
    p.timestamp()
    p.pid()
    p.add_argument("-x", "--failed", action="store_true", help="only show failed opens")
    p.add_argument("-n", "--name", help="only print process names containing this name")
    p.add_argument("-U", "--print-uid", action="store_true", help="print UID column")
    p.add_argument("-e", "--extended-fields", action="store_true",
                   help="show extended fields (open flags)")
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)

    def columns(clock: str, uid: object, pid: object, comm: str, fd: object, err: object,
                flags: str) -> str:
        """The columns before the path, heading or values."""
        return ((f"{clock:<9}" if args.timestamp else "") +
                (f"{uid:<6} " if args.print_uid else "") +
                f"{pid:<7} {comm:<16} {fd:>3} {err:>3} " +
                (f"{flags:<8} " if args.extended_fields else ""))

    head = columns("TIME", "UID", "PID", "COMM", "FD", "ERR", "FLAGS")

    def fmt(ev) -> Row:
        comm = text(ev.comm)
        if args.name and args.name not in comm:
            return None
        if args.failed and ev.ret >= 0:
            return None
        fd, err = (ev.ret, 0) if ev.ret >= 0 else (-1, -ev.ret)
        path = text(ev.fname)
        line = columns(hms(), ev.uid, ev.pid, comm, fd, err, f"{ev.flags:08o}")
        return ({"time": time.time(), "pid": ev.pid, "uid": ev.uid, "comm": comm,
                 "fd": fd, "err": err, "flags": ev.flags, "path": path}, line + path)

    return stream("opensnoop", args, {"target_pid": args.pid}, head + "PATH", fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
