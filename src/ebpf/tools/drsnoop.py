"""drsnoop: trace direct reclaim: who stalled reclaiming memory, for how long, and how
many pages it freed. Memory cgroup reclaim (a cgroup at its limit) is shown too.

Tracepoints vmscan/mm_vmscan_direct_reclaim_{begin,end} (as the classic tool) and
vmscan/mm_vmscan_memcg_reclaim_{begin,end}.
"""

from __future__ import annotations

import time

from .base import Ready, ToolParser, hms, stream, text

EXAMPLES = """\
    ebpf tool drsnoop             # trace all direct reclaim
    ebpf tool drsnoop -T          # include timestamps
    ebpf tool drsnoop -p 181      # only trace PID 181
"""


def parser() -> ToolParser:
    p = ToolParser("drsnoop", "Trace direct reclaim", EXAMPLES)
    p.timestamp()
    p.pid()
    p.add_argument("--global-only", action="store_true",
                   help="only global direct reclaim, not memory cgroup reclaim")
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    start = time.monotonic()

    def fmt(ev):
        if args.global_only and ev.memcg:
            return None
        comm, ms = text(ev.comm), ev.delta_ns / 1e6
        kind = "memcg" if ev.memcg else "direct"
        line = (f"{hms():<9}" if args.timestamp else f"{time.monotonic() - start:<9.3f}") + (
            f"{comm:<16} {ev.pid:<7} {ms:8.3f} {ev.nr_reclaimed:>6} {kind}")
        return ({"comm": comm, "pid": ev.pid, "lat_ms": ms, "pages": ev.nr_reclaimed,
                 "kind": kind}, line)

    head = (f"{'TIME':<9}" if args.timestamp else f"{'TIME(s)':<9}") + (
        f"{'COMM':<16} {'PID':<7} {'LAT(ms)':>8} {'PAGES':>6} KIND")
    return stream("drsnoop", args, {"target_pid": args.pid}, head, fmt, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
