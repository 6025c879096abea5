"""syncsnoop: trace sync()-family syscalls (sync, syncfs, fsync, fdatasync, msync,
sync_file_range).

Tracepoints syscalls/sys_enter_sync and friends.
"""

from __future__ import annotations

from .base import Ready, ToolParser, stream, text

EXAMPLES = """\
    ebpf tool syncsnoop           # trace sync()-family syscalls
    ebpf tool syncsnoop -p 181    # only PID 181
"""
CALLS = ("sync", "syncfs", "fsync", "fdatasync", "msync", "sync_file_range")


def parser() -> ToolParser:
    p = ToolParser("syncsnoop", "Trace sync() syscalls", EXAMPLES)
    p.pid()
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)

    def fmt(ev):
        comm, call = text(ev.comm), CALLS[ev.call]
        t = ev.ts_ns / 1e9
        return ({"time": t, "pid": ev.pid, "comm": comm, "call": call},
                f"{t:<18.9f} {ev.pid:<7} {comm:<16} {call}")

    head = f"{'TIME(s)':<18} {'PID':<7} {'COMM':<16} CALL"
    return stream("syncsnoop", args, {"target_pid": args.pid}, head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
