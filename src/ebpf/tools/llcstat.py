"""llcstat: summarize last level cache references and misses per process and CPU,
from hardware performance counters (PERF_COUNT_HW_CACHE_REFERENCES and
PERF_COUNT_HW_CACHE_MISSES, sampled every ``-c`` events).

Needs a hardware PMU: in a virtual machine without a virtual PMU the kernel offers
only software events, and the tool says so.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from ..errors import Error, NotSupportedError
from ..uapi.consts import (
    PERF_COUNT_HW_CACHE_MISSES,
    PERF_COUNT_HW_CACHE_REFERENCES,
    PERF_TYPE_HARDWARE,
)
from .base import (
    Output,
    Ready,
    ToolParser,
    announce,
    attached,
    sleep_for,
    text,
)

EXAMPLES = """\
    ebpf tool llcstat             # summarize cache references and misses by PID
    ebpf tool llcstat 20          # sample for 20 seconds, then summarize
    ebpf tool llcstat -c 1000     # sample one of every 1000 events
    ebpf tool llcstat -t          # summarize by PID and TID
"""
HW_CACHE_REFERENCES = PERF_COUNT_HW_CACHE_REFERENCES
HW_CACHE_MISSES = PERF_COUNT_HW_CACHE_MISSES
PMU_DIR = Path("/sys/bus/event_source/devices")


def parser() -> ToolParser:
    p = ToolParser("llcstat", "Summarize cache references and misses by PID", EXAMPLES)
    p.add_argument("-c", "--sample_period", type=int, default=100,
                   help="sample one in this many events")
    p.add_argument("-t", "--tid", action="store_true", help="summarize by TID too")
    p.add_argument("duration", nargs="?", type=float, default=None,
                   help="duration of trace, in seconds (default: until Ctrl-C)")
    return p


def hardware_pmu() -> bool:
    """Whether the kernel has a hardware PMU (``cpu`` or ``cpu_core`` under
    /sys/bus/event_source/devices)."""
    return any((PMU_DIR / n).exists() for n in ("cpu", "cpu_core", "cpu_atom", "armv8_pmuv3"))


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    out = Output(args.json)
    with attached("llcstat", {"period": args.sample_period}, attach=False) as obj, \
            contextlib.ExitStack() as st:
        for prog, config, what in (("on_cache_miss", HW_CACHE_MISSES, "cache-misses"),
                                   ("on_cache_ref", HW_CACHE_REFERENCES, "cache-references")):
            try:
                st.enter_context(obj.programs[prog].attach(perf_event={
                    "type": PERF_TYPE_HARDWARE, "config": config,
                    "sample_period": args.sample_period}))
            except Error as e:
                devices = sorted(p.name for p in PMU_DIR.iterdir()) if PMU_DIR.is_dir() else []
                raise NotSupportedError(
                    "hardware cache counters (PERF_TYPE_HARDWARE cache-references and "
                    "cache-misses)", detail=f"this machine has no hardware PMU (its perf event "
                    f"sources: {', '.join(devices) or 'none'}; a virtual machine needs a "
                    f"virtual PMU); opening {what} failed: {e}") from e
        announce(out, f"Running for {args.duration or 'ever'} seconds or hit Ctrl-C to end.",
                 ready)
        sleep_for(args.duration)
        rows = list(obj.maps["infos"].items())
    agg: dict = {}
    for k, v in rows:
        key = (k.pid, k.tid if args.tid else 0, k.cpu, text(k.comm))
        a = agg.setdefault(key, [0, 0])
        a[0] += v.ref
        a[1] += v.miss
    out.text(f"{'PID':<8} " + (f"{'TID':<8} " if args.tid else "") +
             f"{'NAME':<16} {'CPU':<4} {'REFERENCE':>12} {'MISS':>12} {'HIT%':>6}")
    tot_ref = tot_miss = 0
    for (pid, tid, cpu, comm), (ref, miss) in sorted(agg.items(), key=lambda kv: -kv[1][0]):
        hit = 100.0 * (ref - miss) / ref if ref > miss else 0.0
        tot_ref, tot_miss = tot_ref + ref, tot_miss + miss
        out.row({"pid": pid, "tid": tid, "comm": comm, "cpu": cpu, "reference": ref,
                 "miss": miss, "hit_pct": hit},
                f"{pid:<8} " + (f"{tid:<8} " if args.tid else "") +
                f"{comm:<16} {cpu:<4} {ref:>12} {miss:>12} {hit:>5.2f}%")
    if tot_ref:
        out.text(f"Total References: {tot_ref} Total Misses: {tot_miss} Hit Rate: "
                 f"{100.0 * (tot_ref - tot_miss) / tot_ref:.2f}%")
    return 0


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
