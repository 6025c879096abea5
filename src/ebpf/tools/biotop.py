"""biotop: block device I/O top: I/O count, Kbytes and average latency per process,
disk and direction, every interval.

Hooks as biosnoop (tp_btf block_rq_*, raw tracepoint fallback).
"""

from __future__ import annotations

from .base import (
    Output,
    Ready,
    ToolParser,
    attached,
    drain,
    text,
    top,
)
from .disks import BIO_VARIANTS, name_of, split

EXAMPLES = """\
    ebpf tool biotop              # block device I/O top, 1 second refresh
    ebpf tool biotop -C           # don't clear the screen
    ebpf tool biotop -p 181       # only processes with PID 181
    ebpf tool biotop 5 10         # 5 second summaries, 10 times only
"""


def parser() -> ToolParser:
    p = ToolParser("biotop", "Block device (disk) I/O by process", EXAMPLES)
    p.noclear()
    p.add_argument("-r", "--maxrows", type=int, default=20, help="maximum rows to print")
    p.pid()
    p.interval(1.0)
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    out = Output(args.json)
    with attached("biotop", {"target_pid": args.pid}, BIO_VARIANTS) as obj:
        m = obj.maps["counts"]

        def table() -> None:
            rows = drain(m)
            out.text(f"{'PID':<7} {'COMM':<16} {'D':1} {'MAJ':>3} {'MIN':>3} {'DISK':<8} "
                     f"{'I/O':>5} {'Kbytes':>7} {'AVGms':>7}")
            rows.sort(key=lambda kv: -kv[1].bytes)
            for k, v in rows[:args.maxrows]:
                comm, (major, minor), disk = text(k.comm), split(k.dev), name_of(k.dev)
                rw = "W" if k.rwflag else "R"
                avg = v.us / v.io / 1000 if v.io else 0.0
                out.row({"pid": k.pid, "comm": comm, "rwflag": rw, "major": major,
                         "minor": minor, "disk": disk, "io": v.io, "bytes": v.bytes,
                         "avg_ms": avg},
                        f"{k.pid:<7} {comm:<16} {rw:1} {major:>3} {minor:>3} {disk:<8} "
                        f"{v.io:>5} {v.bytes // 1024:>7} {avg:>7.2f}")

        return top(out, args, table, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
