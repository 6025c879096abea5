"""filelife: trace the lifespan of short-lived files: created, then deleted, with
their age in seconds.

The classic hooks (kprobes or fentry on vfs_create/vfs_unlink) are not available on
this kernel (no kprobes; lockdown refuses fentry). Here a file's life runs from a
successful openat(O_CREAT)/creat()/mknodat() to an unlink()/unlinkat() of the same
path string (syscall tracepoints), so a file created and deleted through different
spellings of its path (relative vs absolute) is not matched.
"""

from __future__ import annotations

import os

from .base import Ready, ToolParser, hms, stream, text

EXAMPLES = """\
    ebpf tool filelife            # trace lifecycle of file (create -> remove)
    ebpf tool filelife -p 181     # only trace PID 181
"""


def parser() -> ToolParser:
    p = ToolParser("filelife", "Trace the lifespan of short-lived files", EXAMPLES)
    p.pid()
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)

    def fmt(ev):
        comm, path = text(ev.comm), text(ev.path)
        age = ev.age_ns / 1e9
        return ({"pid": ev.pid, "comm": comm, "age": age, "file": path},
                f"{hms():<8} {ev.pid:<7} {comm:<16} {age:<7.2f} {os.path.basename(path)}")

    head = f"{'TIME':<8} {'PID':<7} {'COMM':<16} {'AGE(s)':<7} FILE"
    return stream("filelife", args, {"target_pid": args.pid}, head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
