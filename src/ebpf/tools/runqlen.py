"""runqlen: summarize scheduler run queue length as a histogram, sampled at 99 Hz
on every CPU (a perf_event program on the cpu-clock software event; CO-RE read of
the CPU run queue's ``nr_running``, ``task->se.cfs_rq->rq``, CONFIG_FAIR_GROUP_SCHED,
not counting the running task).
"""

from __future__ import annotations

from .base import Output, Ready, ToolParser, attached, drain, every_interval, hms

EXAMPLES = """\
    ebpf tool runqlen             # summarize run queue length as a histogram
    ebpf tool runqlen 1 10        # print 1 second summaries, 10 times
    ebpf tool runqlen -T 1        # 1s summaries and timestamps
    ebpf tool runqlen -O          # report run queue occupancy
    ebpf tool runqlen -C          # show each CPU separately
"""
PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK = 1, 0


def parser() -> ToolParser:
    p = ToolParser("runqlen", "Summarize scheduler run queue length as a histogram",
                   EXAMPLES)
    p.timestamp()
    p.add_argument("-O", "--runqocc", action="store_true", help="report run queue occupancy")
    p.add_argument("-C", "--cpus", action="store_true", help="print output for each CPU separately")
    p.add_argument("-f", "--frequency", type=int, default=99, help="sample frequency (Hz)")
    p.interval()
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    import ebpf

    args = parser().parse_args(argv)
    out = Output(args.json)
    with attached("runqlen", {"per_cpu": args.cpus}, attach=False) as obj, \
            obj.programs["do_sample"].attach(perf_event={
                "type": PERF_TYPE_SOFTWARE, "config": PERF_COUNT_SW_CPU_CLOCK,
                "sample_freq": args.frequency}):
        m = obj.maps["samples"]

        def tick(last: bool) -> None:
            per: dict[int, dict[int, int]] = {}
            for key, n in drain(m):
                per.setdefault(key >> 32, {})[key & 0xFFFFFFFF] = n
            out.text(f"\n{hms()}" if args.timestamp else "")
            for cpu in sorted(per):
                lens = per[cpu]
                rec: dict = {"cpu": cpu} if args.cpus else {}
                if args.cpus:
                    out.text(f"\ncpu = {cpu}")
                total = sum(lens.values())
                if args.runqocc:
                    busy = sum(n for ln, n in lens.items() if ln > 0)
                    pct = 100.0 * busy / total if total else 0.0
                    out.row(dict(rec, runqocc=pct, samples=total),
                            f"runqocc: {pct:0.2f}%")
                    continue
                h = ebpf.Histogram(lens, unit="runqlen", step=1)
                out.histogram(h, rec)

        return every_interval(out, "Sampling run queue length... Hit Ctrl-C to end.", ready, args,
                              tick)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
