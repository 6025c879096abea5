"""What runqlat and cpudist share: options, loading the sched_switch hooks (tp_btf
first, raw tracepoints next) and printing one histogram per key each interval."""

from __future__ import annotations

import argparse
from pathlib import Path

from .base import Output, Ready, ToolParser, hms, intervals, open_first, require_kernel

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


def comm_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def run_hist(name: str, args: argparse.Namespace, consts: dict, note: str,
             ready: Ready) -> int:
    import ebpf

    require_kernel(name)
    out = Output(args.json)
    consts = dict(consts, target_tgid=args.pid, per_process=args.pids, per_thread=args.tids,
                  millis=args.milliseconds)
    unit = "msecs" if args.milliseconds else "usecs"
    obj, _ = open_first(name, SCHED_VARIANTS, consts)
    with obj:
        out.note(note)
        if ready:
            ready()
        m = obj.maps["hists"]

        def tick(last: bool) -> None:
            rows = sorted(m.items())
            m.clear()
            out.text(f"\n{hms()}" if args.timestamp else "")
            for key, v in rows:
                h = ebpf.Histogram(list(v.slots), unit=unit)
                rec: dict = {}
                if args.pids or args.tids:
                    label = "pid" if args.pids else "tid"
                    rec = {label: key, "comm": comm_of(key)}
                    out.text(f"\n{label} = {key} {comm_of(key)}")
                out.histogram(h, rec)

        intervals(args.interval, args.count, args.duration, tick)
    return 0


__all__ = ["SCHED_VARIANTS", "add_options", "comm_of", "run_hist"]
