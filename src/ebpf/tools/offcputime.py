"""offcputime: time threads spend blocked (off CPU), summed by user + kernel
stack, from the scheduler's context switches (``tp_btf/sched_switch``).

    ebpf tool offcputime 5                  # every thread, 5 seconds
    ebpf tool offcputime -p 1234 -f 10 > offcpu.folded
    ebpf tool offcputime -p 1234 --flamegraph offcpu.html 10
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import IO

from ..stacks import StackProfile, write_pprof
from ..stacks.collect import StackCollector
from ..symbols import Symbolizer
from . import stackout as so
from .base import ToolParser, attached

EXAMPLES = """\
    ebpf tool offcputime 5                     # every thread, 5 seconds
    ebpf tool offcputime -p 1234 -f 10 > offcpu.folded
    ebpf tool offcputime -p 1234 -m 1000 --flamegraph offcpu.html 10
"""
NAME = "offcputime"
DESCRIPTION = "Summarize off-CPU time by stack trace."

#: task states (TASK_INTERRUPTIBLE, TASK_UNINTERRUPTIBLE) for --state
STATES = {"running": 0, "interruptible": 1, "uninterruptible": 2}


def record(duration: float, *, pid: int | None = None, tid: int | None = None,
           user: bool = True, kernel: bool = True, user_threads_only: bool = False,
           kernel_threads_only: bool = False, min_block_us: int = 1,
           max_block_us: int | None = None, state: int | None = None,
           per_thread: bool = False, symbolizer: Symbolizer | None = None,
           ready: Callable[[], None] | None = None) -> StackProfile:
    """Trace context switches for ``duration`` seconds; the profile's values are
    nanoseconds blocked."""
    sym = symbolizer or Symbolizer()
    consts = {"target_tgid": pid or 0, "target_tid": tid or 0, "user_stacks": user,
              "kernel_stacks": kernel, "user_threads_only": user_threads_only,
              "kernel_threads_only": kernel_threads_only,
              "min_block_ns": max(1, min_block_us) * 1000,
              "max_block_ns": (max_block_us * 1000) if max_block_us else (1 << 64) - 1,
              "state": -1 if state is None else state, "per_thread": per_thread}
    with attached(NAME, consts, attach=False) as obj:
        rows, _ = so.count_stacks(obj, obj.programs["sched_switch"].attach(), sym, duration, pid,
                               ready)
        return StackCollector(sym, obj.maps["stacks"]).profile(
            rows, unit="nanoseconds", per_thread=per_thread)


def parser() -> ToolParser:
    ap = ToolParser(NAME, DESCRIPTION, EXAMPLES)
    ap.add_argument("-p", "--pid", type=int, help="trace this process only")
    ap.add_argument("-t", "--tid", type=int, help="trace this thread only")
    ap.add_argument("-u", "--user-threads-only", action="store_true",
                    help="user threads only (no kernel threads)")
    ap.add_argument("-k", "--kernel-threads-only", action="store_true",
                    help="kernel threads only")
    so.add_stack_options(ap)
    ap.add_argument("-m", "--min-block-time", type=int, default=1, metavar="US",
                    help="only blocks of at least this many microseconds (default 1)")
    ap.add_argument("-M", "--max-block-time", type=int, metavar="US",
                    help="only blocks of at most this many microseconds")
    ap.add_argument("--state", choices=sorted(STATES),
                    help="only threads that blocked in this task state")
    ap.add_argument("--per-thread", action="store_true", help="one stack per thread")
    so.add_output_options(ap, duration="trace")
    return ap


def main(argv: Sequence[str] | None = None, out: IO[str] = sys.stdout,
         ready: Callable[[], None] | None = None) -> int:
    ap = parser()
    args, user, kernel = so.parse_stack_args(ap, argv)
    if args.user_threads_only and args.kernel_threads_only:
        ap.error("-u and -k exclude each other")
    if args.max_block_time is not None and args.max_block_time < args.min_block_time:
        ap.error(f"-M {args.max_block_time} is below -m {args.min_block_time}")
    so.note(args, out, f"Tracing off-CPU time (us) of {f'PID {args.pid}' if args.pid else 'all threads'}"
              f" by {so.stacks_text(user, kernel)}"
              f" stack for {args.duration:g} secs.")
    prof = record(args.duration, pid=args.pid, tid=args.tid,
                  user=user, kernel=kernel,
                  user_threads_only=args.user_threads_only,
                  kernel_threads_only=args.kernel_threads_only,
                  min_block_us=args.min_block_time, max_block_us=args.max_block_time,
                  state=STATES[args.state] if args.state else None,
                  per_thread=args.per_thread, symbolizer=so.symbolizer_from(args), ready=ready)
    # printed and drawn in microseconds, as the classic tool does; pprof keeps nanoseconds
    us = StackProfile(unit="microseconds")
    for stack, ns in prof:
        us.add(stack, ns // 1000)
    if args.pprof:
        write_pprof(prof, args.pprof)
        args.pprof = None
    so.write_outputs(us, args, "Off-CPU Time Flame Graph", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
