"""What runqlat and cpudist share: options, loading the sched_switch hooks (tp_btf
first, raw tracepoints next) and printing one histogram per key each interval."""

from __future__ import annotations

import argparse
from pathlib import Path

from .base import Output, Ready, ToolParser, attached, drain, every_interval, hms

SCHED_VARIANTS = (("btf_wakeup", "btf_wakeup_new", "btf_switch"),
                  ("raw_wakeup", "raw_wakeup_new", "raw_switch"))


def add_options(p: ToolParser) -> None:
    p.timestamp()
    p.add_argument("-m", "--milliseconds", action="store_true",
                   help="millisecond histogram")
    p.add_argument("-P", "--pids", action="store_true", help="print a histogram per process ID")
    p.add_argument("-L", "--tids", action="store_true", help="print a histogram per thread ID")
    p.pid()
    p.interval()
    p.duration()


def option_examples(name: str) -> str:
    """The example lines of the options :func:`add_options` adds, for tool ``name``."""
    return (f"    ebpf tool {name} 1 10        # print 1 second summaries, 10 times\n"
            f"    ebpf tool {name} -mT 1       # 1s summaries, milliseconds, and timestamps\n"
            f"    ebpf tool {name} -P          # show each PID separately\n"
            f"    ebpf tool {name} -p 185      # trace PID 185 only\n")


def comm_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def run_hist(name: str, args: argparse.Namespace, consts: dict, note: str,
             ready: Ready) -> int:
    import ebpf

    out = Output(args.json)
    consts = dict(consts, target_tgid=args.pid, per_process=args.pids, per_thread=args.tids,
                  millis=args.milliseconds)
    unit = "msecs" if args.milliseconds else "usecs"
    with attached(name, consts, SCHED_VARIANTS) as obj:
        m = obj.maps["hists"]

        def tick(last: bool) -> None:
            rows = sorted(drain(m))
            out.text(f"\n{hms()}" if args.timestamp else "")
            for key, v in rows:
                h = ebpf.Histogram(list(v.slots), unit=unit)
                rec: dict = {}
                if args.pids or args.tids:
                    label = "pid" if args.pids else "tid"
                    rec = {label: key, "comm": comm_of(key)}
                    out.text(f"\n{label} = {key} {comm_of(key)}")
                out.histogram(h, rec)

        return every_interval(out, note, ready, args, tick)


__all__ = ["SCHED_VARIANTS", "add_options", "comm_of", "option_examples", "run_hist"]
