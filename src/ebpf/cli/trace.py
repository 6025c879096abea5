"""``ebpf trace``: print bpf_trace_printk/bpf_printk output from trace_pipe."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trace", help="print bpf_printk output (tracefs trace_pipe)",
                       description="Print bpf_trace_printk/bpf_printk output as it arrives "
                                   "(reads tracefs trace_pipe, mounting tracefs when root).")
    p.add_argument("--duration", "-d", type=float, default=None, metavar="S",
                   help="stop after S seconds (default: until Ctrl-C)")
    p.add_argument("--pid", type=int, default=None, help="only lines from this pid")
    p.add_argument("--raw", action="store_true", help="print the lines exactly as read")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..trace import trace_lines

    out = sys.stdout
    for ev in trace_lines(timeout=args.duration):
        if args.pid is not None and ev.pid != args.pid:
            continue
        if args.json:
            out.write(json.dumps({"task": ev.task, "pid": ev.pid, "cpu": ev.cpu,
                                  "timestamp": ev.timestamp, "function": ev.function,
                                  "message": ev.message}) + "\n")
        elif args.raw:
            out.write(ev.raw + "\n")
        else:
            out.write(f"{ev.timestamp:14.6f} {ev.task}[{ev.pid}] cpu{ev.cpu}: {ev.message}\n")
        out.flush()
    return 0
