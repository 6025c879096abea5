"""What hardirqs and softirqs share: options, help and the per-interval table or
histograms."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from .base import Output, Ready, ToolParser, attached, every_interval, hms


def parser(name: str, kind: str) -> ToolParser:
    """The options of tool ``name`` (hardirqs, softirqs) of ``kind`` (hard, soft) irqs."""
    examples = (f"    ebpf tool {name}            # sum {kind} irq event time\n"
                f"    ebpf tool {name} -d         # show {kind} irq event time as histograms\n"
                f"    ebpf tool {name} -C         # show event counts instead of timing\n"
                f"    ebpf tool {name} 1 10       # print 1 second summaries, 10 times\n"
                f"    ebpf tool {name} -NT 1      # 1s summaries, nanoseconds, and timestamps\n")
    p = ToolParser(name, f"Summarize {kind} irq event time as histograms", examples)
    p.timestamp()
    p.add_argument("-N", "--nanoseconds", action="store_true", help="output in nanoseconds")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("-C", "--count", dest="counts", action="store_true",
                      help="show event counts, not time")
    mode.add_argument("-d", "--dist", action="store_true", help="show distributions as histograms")
    p.interval()
    p.duration()
    return p


def run_table(name: str, args: argparse.Namespace, label: str,
              rows: Callable[[Any], list[tuple[str, Any]]], ready: Ready) -> int:
    """Attach tool ``name``; each interval print ``rows(map)`` ((name, info) pairs with
    count, total_ns and hist.slots) as the classic table or histograms."""
    import ebpf

    out = Output(args.json)
    unit = "nsecs" if args.nanoseconds else "usecs"
    with attached(name, {"do_dist": args.dist, "nanos": args.nanoseconds}) as obj:
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

        what = "count" if args.counts else "time"
        note = f"Tracing {label.lower()} irq event {what}... Hit Ctrl-C to end."
        return every_interval(out, note, ready, args, tick)


__all__ = ["parser", "run_table"]
