"""cpudist: summarize on-CPU time per task as a histogram (``-O``: off-CPU time).

Hook sched_switch as tp_btf (the classic hook), falling back to a raw tracepoint.
"""

from __future__ import annotations

from .base import Ready, ToolParser
from .schedhist import add_options, option_examples, run_hist

EXAMPLES = """\
    ebpf tool cpudist             # summarize on-CPU time as a histogram
    ebpf tool cpudist -O          # summarize off-CPU time as a histogram
""" + option_examples("cpudist")


def parser() -> ToolParser:
    p = ToolParser("cpudist", "Summarize on- and off-CPU time per task as a histogram",
                   EXAMPLES)
    p.add_argument("-O", "--offcpu", action="store_true", help="measure off-CPU time")
    add_options(p)
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    args = parser().parse_args(argv)
    what = "off" if args.offcpu else "on"
    return run_hist("cpudist", args, {"offcpu": args.offcpu},
                    f"Tracing {what}-CPU time... Hit Ctrl-C to end.", ready)


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
