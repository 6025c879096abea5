"""biolatency: summarize block device I/O latency as a histogram.

Hooks block_rq_insert / block_rq_issue / block_rq_complete as tp_btf (the classic
hook), falling back to raw tracepoints; the request is read with CO-RE.
"""

from __future__ import annotations

from .base import (
    Output,
    Ready,
    ToolParser,
    attached,
    drain,
    every_interval,
    hms,
    require_kernel,
)
from .disks import BIO_VARIANTS, dev_of, name_of

EXAMPLES = """\
    ebpf tool biolatency              # summarize block I/O latency as a histogram
    ebpf tool biolatency 1 10         # print 1 second summaries, 10 times
    ebpf tool biolatency -mT 1        # 1s summaries, milliseconds, and timestamps
    ebpf tool biolatency -Q           # include OS queued time in I/O time
    ebpf tool biolatency -D           # show each disk device separately
    ebpf tool biolatency -F           # show I/O flags separately
    ebpf tool biolatency -d sdc       # trace sdc only
"""
REQ_FLAGS = [(1 << 8, "FailfastDev"), (1 << 9, "FailfastTransport"),
             (1 << 10, "FailfastDriver"), (1 << 11, "Sync"), (1 << 12, "Meta"),
             (1 << 13, "Prio"), (1 << 14, "NoMerge"), (1 << 15, "Idle"),
             (1 << 16, "Integrity"), (1 << 17, "Fua"), (1 << 18, "Preflush"),
             (1 << 19, "RaHead"), (1 << 20, "Background"), (1 << 21, "NoWait")]
OPS = {0: "Read", 1: "Write", 2: "Flush", 3: "Discard", 5: "SecureErase", 9: "WriteZeroes"}


def flags_text(flags: int) -> str:
    parts = [OPS.get(flags & 0xFF, f"Op{flags & 0xFF}")]
    parts += [n for bit, n in REQ_FLAGS if flags & bit]
    return "-".join(reversed(parts))


def parser() -> ToolParser:
    p = ToolParser("biolatency", "Summarize block device I/O latency as a histogram",
                   EXAMPLES)
    p.timestamp()
    p.add_argument("-Q", "--queued", action="store_true", help="include OS queued time")
    p.add_argument("-m", "--milliseconds", action="store_true", help="millisecond histogram")
    p.add_argument("-D", "--disks", action="store_true", help="print a histogram per disk")
    p.add_argument("-F", "--flags", action="store_true", help="print a histogram per set of I/O flags")
    p.add_argument("-d", "--disk", help="trace this disk only")
    p.interval()
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    import ebpf

    args = parser().parse_args(argv)
    require_kernel("biolatency")
    out = Output(args.json)
    consts = {"per_disk": args.disks, "per_flags": args.flags, "queued": args.queued,
              "millis": args.milliseconds,
              "target_dev": dev_of(args.disk) if args.disk else 0}
    unit = "msecs" if args.milliseconds else "usecs"
    with attached("biolatency", consts, BIO_VARIANTS) as obj:
        m = obj.maps["hists"]

        def tick(last: bool) -> None:
            rows = sorted(drain(m), key=lambda kv: (kv[0].dev, kv[0].flags))
            out.text(f"\n{hms()}" if args.timestamp else "")
            for k, v in rows:
                h = ebpf.Histogram(list(v.slots), unit=unit)
                rec: dict = {}
                if args.disks:
                    rec["disk"] = name_of(k.dev)
                    out.text(f"\ndisk = {name_of(k.dev)}")
                if args.flags:
                    rec["flags"] = flags_text(k.flags)
                    out.text(f"\nflags = {flags_text(k.flags)}")
                out.histogram(h, rec)

        return every_interval(out, "Tracing block device I/O... Hit Ctrl-C to end.", ready, args,
                              tick)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
