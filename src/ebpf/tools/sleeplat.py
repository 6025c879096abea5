"""sleeplat: how long clock_nanosleep() really sleeps, as a log2 histogram.

Tracepoints syscalls/sys_enter_clock_nanosleep and sys_exit_clock_nanosleep.
"""

from __future__ import annotations

from .base import Output, Ready, ToolParser, announce, attached, sleep_for

EXAMPLES = """\
    ebpf tool sleeplat --duration 5      # histogram of sleeps for 5 seconds
    ebpf tool sleeplat -p 181            # only PID 181
    ebpf tool sleeplat --png sleep.png   # also plot it (needs ebpf[plot])
"""


def parser() -> ToolParser:
    p = ToolParser("sleeplat", "Summarize clock_nanosleep() latency as a histogram.",
                   EXAMPLES)
    p.pid()
    p.duration(5.0)
    p.add_argument("--png", help="also save the histogram as a PNG (needs ebpf[plot])")
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    out = Output(args.json)
    import ebpf

    with attached("sleeplat", {"target_tgid": args.pid}) as obj:
        announce(out, f"Tracing clock_nanosleep() for {args.duration:g}s... Ctrl-C to stop early.",
                 ready)
        sleep_for(args.duration)
        hist = ebpf.Histogram.from_map(obj.maps["hist"], unit="usecs")
    out.histogram(hist)
    if hist.total:
        out.text(f"{hist.total} sleeps; median <= {hist.percentile(50)} us, "
                 f"p99 <= {hist.percentile(99)} us")
    if args.png:
        out.note(f"saved {hist.save_png(args.png, title='clock_nanosleep latency')}")
    return 0


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
