"""statsnoop: trace stat() syscalls: who looked up which path, and the result.

Tracepoints syscalls/sys_{enter,exit}_{statfs,newstat,newlstat,newfstatat,statx}.
"""

from __future__ import annotations

import time

from .base import Ready, ToolParser, stream, text

EXAMPLES = """\
    ebpf tool statsnoop           # trace all stat() syscalls
    ebpf tool statsnoop -t        # include timestamps
    ebpf tool statsnoop -x        # only show failed stats
    ebpf tool statsnoop -p 181    # only trace PID 181
"""
CALLS = ("statfs", "stat", "lstat", "fstatat", "statx")


def parser() -> ToolParser:
    p = ToolParser("statsnoop", "Trace stat() syscalls", EXAMPLES)
    p.add_argument("-t", "--timestamp", action="store_true", help="include timestamp on output")
    p.add_argument("-x", "--failed", action="store_true", help="only show failed stats")
    p.pid()
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    start = time.monotonic()

    def fmt(ev):
        comm, path = text(ev.comm), text(ev.path)
        fd, err = (ev.ret, 0) if ev.ret >= 0 else (-1, -ev.ret)
        t = time.monotonic() - start
        line = (f"{t:<14.6f}" if args.timestamp else "") + (
            f"{ev.pid:<7} {comm:<16} {fd:>4} {err:>3} {path}")
        return ({"time": round(t, 6), "pid": ev.pid, "comm": comm, "ret": fd, "err": err,
                 "call": CALLS[ev.call], "path": path}, line)

    head = (f"{'TIME(s)':<14}" if args.timestamp else "") + (
        f"{'PID':<7} {'COMM':<16} {'RET':>4} {'ERR':>3} PATH")
    return stream("statsnoop", args, {"target_pid": args.pid, "failed_only": args.failed},
                  head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
