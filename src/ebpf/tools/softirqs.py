"""softirqs: summarize soft IRQ (interrupt) event time, per vector.

Tracepoints irq/softirq_entry and irq/softirq_exit.
"""

from __future__ import annotations

from types import SimpleNamespace

from . import irqstat
from .base import Ready, ToolParser

VECTORS = ["hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched",
           "hrtimer", "rcu"]


def parser() -> ToolParser:
    return irqstat.parser("softirqs", "soft")


def _rows(m) -> list:
    rows = []
    for vec, per_cpu in m.items():
        slots = [sum(col) for col in zip(*(c.hist.slots for c in per_cpu), strict=True)]
        info = SimpleNamespace(count=sum(c.count for c in per_cpu),
                               total_ns=sum(c.total_ns for c in per_cpu),
                               hist=SimpleNamespace(slots=slots))
        rows.append((VECTORS[vec] if vec < len(VECTORS) else str(vec), info))
    return rows


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    return irqstat.run_table("softirqs", args, "SOFTIRQ", _rows, ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
