"""biosnoop: trace block device I/O, one line per I/O with its latency.

Hooks block_rq_insert / block_rq_issue / block_rq_complete as tp_btf (the classic
hook), falling back to raw tracepoints. The process is the one seen inserting or
issuing the request.
"""

from __future__ import annotations

from .base import Ready, ToolParser, stream, text
from .disks import BIO_VARIANTS, dev_of, name_of, op_of

EXAMPLES = """\
    ebpf tool biosnoop            # trace all block I/O
    ebpf tool biosnoop -Q         # include OS queued time
    ebpf tool biosnoop -d sdc     # trace sdc only
"""


def parser() -> ToolParser:
    p = ToolParser("biosnoop", "Trace block I/O", EXAMPLES)
    p.add_argument("-Q", "--queue", action="store_true", help="include OS queued time")
    p.add_argument("-d", "--disk", help="trace this disk only")
    p.pid()
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    first: list[int] = []

    def fmt(ev):
        if args.pid and ev.pid != args.pid:
            return None
        if not first:
            first.append(ev.ts_ns)
        comm, disk, op = text(ev.comm), name_of(ev.dev), op_of(ev.cmd_flags)
        t = (ev.ts_ns - first[0]) / 1e9
        lat, queue = ev.delta_ns / 1e6, ev.queue_ns / 1e6
        line = (f"{t:<11.6f} {comm:<14.14} {ev.pid:<7} {disk:<9} {op:<1} {ev.sector:<10} "
                f"{ev.bytes:<7} " + (f"{queue:7.2f} " if args.queue else "") + f"{lat:7.2f}")
        return ({"time": t, "comm": comm, "pid": ev.pid, "disk": disk, "rwflag": op,
                 "sector": ev.sector, "bytes": ev.bytes, "lat_ms": lat, "queue_ms": queue},
                line)

    head = (f"{'TIME(s)':<11} {'COMM':<14} {'PID':<7} {'DISK':<9} T {'SECTOR':<10} "
            f"{'BYTES':<7} " + (f"{'QUE(ms)':>7} " if args.queue else "") + f"{'LAT(ms)':>7}")
    return stream("biosnoop", args, {"target_dev": dev_of(args.disk) if args.disk else 0},
                  head, fmt, ready, variants=BIO_VARIANTS)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
