"""stackcount: count the stacks that lead to an event — a tracepoint or a
uprobe — by user + kernel stack.

    ebpf tool stackcount t:sched:sched_switch 5
    ebpf tool stackcount -p 1234 u:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc 5
    ebpf tool stackcount -f u:c:write 5 > write.folded

Event syntax (as BCC's): ``t:CATEGORY:NAME`` (tracepoint), ``u:BINARY:SYMBOL``
(uprobe; BINARY a path or a library name such as ``c``), or ``CATEGORY:NAME``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, Any

from ..errors import Error
from ..stacks import StackProfile
from ..stacks.collect import StackCollector
from ..symbols import Symbolizer
from . import stackout as so
from .base import ToolParser, attached

EXAMPLES = """\
    ebpf tool stackcount t:sched:sched_switch          # kernel + user stacks, 5 s
    ebpf tool stackcount -p 1234 u:c:malloc            # malloc() callers of one process
    ebpf tool stackcount -f -D 10 u:/bin/bash:readline > readline.folded
"""
NAME = "stackcount"
DESCRIPTION = "Count events (tracepoint or uprobe hits) and their stack traces."


@dataclass(frozen=True)
class Event:
    kind: str  # "tracepoint" or "uprobe"
    target: str  # "category/name", or the binary
    symbol: str = ""

    @property
    def description(self) -> str:
        return f"{self.target}:{self.symbol}" if self.symbol else self.target


def parse_event(text: str) -> Event:
    """``t:sched:sched_switch``, ``u:/bin/bash:readline``, ``u:c:malloc``, ``sched:sched_switch``."""
    parts = text.split(":")
    kind = parts[0] if len(parts[0]) == 1 or parts[0] in ("tracepoint", "uprobe") else ""
    if kind in ("p", "k", "r") and len(parts) >= 2:
        raise Error(f"event {text!r}: kprobes are not available on this kernel; "
                    "use a tracepoint (t:CATEGORY:NAME) or a uprobe (u:BINARY:SYMBOL)")
    if kind in ("t", "tracepoint") and len(parts) == 3 and all(parts[1:]):
        return Event("tracepoint", f"{parts[1]}/{parts[2]}")
    if kind in ("u", "uprobe") and len(parts) == 3 and all(parts[1:]):
        return Event("uprobe", parts[1], parts[2])
    if not kind and len(parts) == 2 and all(parts):
        return Event("tracepoint", f"{parts[0]}/{parts[1]}")
    raise Error(f"event {text!r}: expected t:CATEGORY:NAME (tracepoint) or "
                "u:BINARY:SYMBOL (uprobe)")


def record(event: Event | str, duration: float, *, pid: int | None = None,
           user: bool = True, kernel: bool = True, per_pid: bool = False,
           symbolizer: Symbolizer | None = None,
           ready: Callable[[], None] | None = None) -> StackProfile:
    """Count the stacks at ``event`` for ``duration`` seconds (values: calls).
    ``ready`` runs once the probe is attached; recording stops ``duration``
    seconds after it returns."""
    ev = parse_event(event) if isinstance(event, str) else event
    sym = symbolizer or Symbolizer()
    consts = {"target_tgid": pid or 0, "user_stacks": user, "kernel_stacks": kernel,
              "per_pid": per_pid}
    with attached(NAME, consts, attach=False) as obj:
        if ev.kind == "uprobe":
            target: dict[str, Any] = {"binary": ev.target, "symbol": ev.symbol}
            if pid:
                target["pid"] = pid
            link = obj.programs["stackcount_uprobe"].attach(**target)
        else:
            link = obj.programs["stackcount_tracepoint"].attach(tracepoint=ev.target)
        rows, _ = so.count_stacks(obj, link, sym, duration, pid, ready, remember=user)
        return StackCollector(sym, obj.maps["stacks"]).profile(rows, unit="calls",
                                                                per_process=per_pid)


def parser() -> ToolParser:
    ap = ToolParser(NAME, DESCRIPTION, EXAMPLES)
    ap.add_argument("-p", "--pid", type=int, help="trace this process only")
    ap.add_argument("-P", "--perpid", action="store_true",
                    help="one stack per process (with its name)")
    so.add_stack_options(ap)
    ap.add_argument("-D", "--duration", type=float, default=5.0,
                    help="seconds to trace (default 5)")
    so.add_output_options(ap)
    ap.add_argument("event", help="t:CATEGORY:NAME or u:BINARY:SYMBOL")
    return ap


def main(argv: Sequence[str] | None = None, out: IO[str] = sys.stdout,
         ready: Callable[[], None] | None = None) -> int:
    ap = parser()
    args, user, kernel = so.parse_stack_args(ap, argv)
    ev = parse_event(args.event)
    so.note(args, out, f"Tracing {ev.kind} {ev.description} for {args.duration:g} secs.")
    prof = record(ev, args.duration, pid=args.pid, user=user, kernel=kernel, per_pid=args.perpid,
                  symbolizer=so.symbolizer_from(args), ready=ready)
    so.write_outputs(prof, args, f"stackcount {ev.description}", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
