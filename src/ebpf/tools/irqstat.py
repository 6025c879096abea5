"""What hardirqs and softirqs share: options and the per-interval table or histograms."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .base import Output, Ready, ToolParser, hms, intervals, open_tool, require_kernel


def add_options(p: ToolParser) -> None:
    p.timestamp()
    p.add_argument("-N", "--nanoseconds", action="store_true", help="output in nanoseconds")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("-C", "--count", dest="counts", action="store_true",
                      help="show event counts, not time")
    mode.add_argument("-d", "--dist", action="store_true", help="show distributions as histograms")
    p.interval()
    p.duration()


def run_table(name: str, args: argparse.Namespace, label: str,
              rows: Callable[[Any], list[tuple[str, Any]]], ready: Ready) -> int:
    """Attach tool ``name``; each interval print ``rows(map)`` ((name, info) pairs with
    count, total_ns and hist.slots) as the classic table or histograms."""
    import ebpf

    require_kernel(name)
    out = Output(args.json)
    unit = "nsecs" if args.nanoseconds else "usecs"
    with open_tool(name, {"do_dist": args.dist, "nanos": args.nanoseconds}) as obj:
        obj.attach()
        what = "count" if args.counts else "time"
        out.note(f"Tracing {label.lower()} irq event {what}... Hit Ctrl-C to end.")
        if ready:
            ready()
        m = obj.maps["infos"]

        def tick(last: bool) -> None:
            got = [(n, i) for n, i in rows(m) if i.count]
            m.clear()
            out.text(f"\n{hms()}" if args.timestamp else "")
            if args.dist:
                for n, i in sorted(got):
                    out.text(f"\n{label.lower()} = {n}")
                    out.histogram(ebpf.Histogram(list(i.hist.slots), unit=unit),
                                  {label.lower(): n})
                return
            col = "COUNT" if args.counts else f"TOTAL_{unit}"
            out.text(f"{label:<24} {col:>11}")
            for n, i in sorted(got, key=lambda r: -(r[1].count if args.counts
                                                     else r[1].total_ns)):
                total = i.total_ns if args.nanoseconds else i.total_ns // 1000
                value = i.count if args.counts else total
                out.row({label.lower(): n, "count": i.count, "total_ns": i.total_ns},
                        f"{n:<24} {value:>11}")

        intervals(args.interval, args.count, args.duration, tick)
    return 0


__all__ = ["add_options", "run_table"]
