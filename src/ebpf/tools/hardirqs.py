"""hardirqs: summarize hard IRQ (interrupt) event time, per handler name.

Tracepoints irq/irq_handler_entry and irq/irq_handler_exit.
"""

from __future__ import annotations

from . import irqstat
from .base import Ready, ToolParser, text


def parser() -> ToolParser:
    return irqstat.parser("hardirqs", "hard")


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    return irqstat.run_table("hardirqs", args, "HARDIRQ",
                     lambda m: [(text(k.name), v) for k, v in m.items()], ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
