"""runqlat: summarize run queue (scheduler) latency as a histogram: the time from a
task being woken (or preempted while runnable) to running again.

Hooks sched_wakeup, sched_wakeup_new and sched_switch as tp_btf (the classic
hook), falling back to raw tracepoints.
"""

from __future__ import annotations

from .base import Ready, ToolParser
from .schedhist import add_options, option_examples, run_hist

EXAMPLES = """\
    ebpf tool runqlat             # summarize run queue latency as a histogram
""" + option_examples("runqlat")


def parser() -> ToolParser:
    p = ToolParser("runqlat", "Summarize run queue (scheduler) latency as a histogram",
                   EXAMPLES)
    add_options(p)
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    return run_hist("runqlat", args, {}, "Tracing run queue latency... Hit Ctrl-C to end.",
                    ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
