"""execsnoop: trace new processes via exec() syscalls, one line per exec.

Tracepoints syscalls/sys_enter_execve and sys_exit_execve; the parent pid is a
CO-RE read of ``task->real_parent->tgid``; events come through a ring buffer.
Failed exec()s are shown only with ``-x``, as in the classic tool.
"""

from __future__ import annotations

import re
import time

from .base import Ready, Row, ToolParser, hms, stream, text

EXAMPLES = """\
    ebpf tool execsnoop            # trace all exec() syscalls
    ebpf tool execsnoop -x         # include failed exec()s
    ebpf tool execsnoop -T         # include a time column (HH:MM:SS)
    ebpf tool execsnoop -n main    # only commands matching the regex "main"
    ebpf tool execsnoop -l tpkg    # only commands where an argument contains "tpkg"
    ebpf tool execsnoop -u 1000    # only UID 1000
    ebpf tool execsnoop -P 181     # only children of PID 181
"""


def parser() -> ToolParser:
    p = ToolParser("execsnoop", "Trace exec() syscalls", EXAMPLES)
    p.timestamp()
    p.add_argument("-t", "--time", action="store_true",
                   help="include a time column (seconds since start)")
    p.add_argument("-x", "--fails", action="store_true", help="include failed exec()s")
    p.add_argument("-u", "--uid", type=int, help="trace this UID only")
    p.add_argument("-n", "--name", help="only print commands matching this name (regex)")
    p.add_argument("-l", "--line", help="only print commands where an argument contains this")
    p.add_argument("-P", "--ppid", type=int, default=0, help="trace only children of this PID")
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    name_re = re.compile(args.name) if args.name else None
    start = time.monotonic()

    def optional(clock: str, secs: str, uid: object) -> str:
        """The optional columns (-T, -t, -u), heading or values."""
        return ((f"{clock:<9}" if args.timestamp else "") + (f"{secs:<8} " if args.time else "")
                + (f"{uid:<6} " if args.uid is not None else ""))

    head = (optional("TIME", "TIME(s)", "UID") +
            f"{'PCOMM':<16} {'PID':<7} {'PPID':<7} {'RET':>3} ARGS")

    def fmt(ev) -> Row:
        if ev.retval != 0 and not args.fails:
            return None
        if args.uid is not None and ev.uid != args.uid:
            return None
        comm = text(ev.comm)
        argl = [text(a) for a in ev.args[: ev.args_count]]
        if name_re and not name_re.search(comm):
            return None
        if args.line and not any(args.line in a for a in argl):
            return None
        now = time.monotonic() - start
        line = (optional(hms(), f"{now:.3f}", ev.uid) +
                f"{comm:<16} {ev.pid:<7} {ev.ppid:<7} {ev.retval:>3} {' '.join(argl)}")
        return ({"time": round(now, 6), "comm": comm, "pid": ev.pid, "ppid": ev.ppid,
                 "uid": ev.uid, "ret": ev.retval, "args": argl}, line)

    return stream("execsnoop", args, {"target_ppid": args.ppid}, head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
