"""hardirqs: summarize hard IRQ (interrupt) event time, per handler name.

Tracepoints irq/irq_handler_entry and irq/irq_handler_exit.
"""

from __future__ import annotations

from .base import Ready, ToolParser, text
from .irqstat import add_options, run_table

EXAMPLES = """\
    ebpf tool hardirqs            # sum hard irq event time
    ebpf tool hardirqs -d         # show hard irq event time as histograms
    ebpf tool hardirqs -C         # show event counts instead of timing
    ebpf tool hardirqs 1 10       # print 1 second summaries, 10 times
    ebpf tool hardirqs -NT 1      # 1s summaries, nanoseconds, and timestamps
"""


def parser() -> ToolParser:
    p = ToolParser("hardirqs", "Summarize hard irq event time as histograms", EXAMPLES)
    add_options(p)
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    return run_table("hardirqs", args, "HARDIRQ",
                     lambda m: [(text(k.name), v) for k, v in m.items()], ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
