"""profile: CPU profiling by timed sampling of stack traces (a perf event per
CPU at ``-F`` Hz), counted in the kernel by (process, user stack, kernel stack).

    ebpf tool profile -F 99 10              # every process, 10 seconds
    ebpf tool profile -p 1234 -f 5 > out.folded
    ebpf tool profile -p 1234 --flamegraph cpu.html 5
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from ..stacks import StackProfile
from ..stacks.collect import StackCollector
from ..symbols import Symbolizer
from . import stackout as so
from .base import ToolParser, attached

EXAMPLES = """\
    ebpf tool profile 10                       # every process, 49 Hz, 10 seconds
    ebpf tool profile -F 99 -p 1234 5          # one process at 99 Hz
    ebpf tool profile -p 1234 -f 5 > out.folded
    ebpf tool profile -p 1234 --flamegraph cpu.html --pprof cpu.pb.gz 5
    ebpf tool profile -U --build-id 5          # user stacks as build-id frames
"""
NAME = "profile"
DESCRIPTION = "Profile CPU usage by sampling stack traces at a timed interval."


@dataclass
class ProfileResult:
    profile: StackProfile
    samples: int  # samples the BPF program counted (after filtering)
    lost_user: int  # user stack walks that failed
    lost_kernel: int
    duration: float


def record(duration: float, *, frequency: int = 49, pid: int | None = None,
           tid: int | None = None, user: bool = True, kernel: bool = True,
           include_idle: bool = False, per_thread: bool = False, build_ids: bool = False,
           symbolizer: Symbolizer | None = None,
           ready: Callable[[], None] | None = None) -> ProfileResult:
    """Sample for ``duration`` seconds and return the symbolized profile.
    ``ready`` is called once sampling has started (tests start their workload there)."""
    sym = symbolizer or Symbolizer()
    consts = {"target_tgid": pid or 0, "target_tid": tid or 0, "user_stacks": user,
              "kernel_stacks": kernel, "include_idle": include_idle, "build_ids": build_ids,
              "per_thread": per_thread}
    with attached(NAME, consts, attach=False) as obj:
        # cpu-clock counts nanoseconds: a fixed period gives exactly ``frequency``
        # samples a second per busy CPU (frequency mode starts at period 1 and adapts)
        link = obj.programs["do_sample"].attach(perf_event={
            "type": "software", "config": "cpu_clock",
            "sample_period": max(1, 10**9 // frequency)})
        rows, elapsed = so.count_stacks(obj, link, sym, duration, pid, ready)
        collector = StackCollector(sym, obj.maps["stacks"],
                                   obj.maps["build_id_stacks"] if build_ids else None)
        prof = collector.profile(rows, unit="samples", per_thread=per_thread)
        stats = [sum(v) for v in (obj.maps["stats"][i] for i in range(3))]
    return ProfileResult(prof, stats[0], stats[1], stats[2], elapsed)


def parser() -> ToolParser:
    ap = ToolParser(NAME, DESCRIPTION, EXAMPLES)
    ap.add_argument("-p", "--pid", type=int, help="profile this process only")
    ap.add_argument("-L", "--tid", type=int, help="profile this thread only")
    so.add_stack_options(ap)
    ap.add_argument("-F", "--frequency", type=int, default=49,
                    help="sample frequency, Hz (default 49)")
    ap.add_argument("-I", "--include-idle", action="store_true",
                    help="include the idle task (pid 0)")
    ap.add_argument("--per-thread", action="store_true", help="one stack per thread")
    ap.add_argument("--build-id", action="store_true",
                    help="take user stacks as (build id, offset) frames (BPF_F_USER_BUILD_ID)")
    so.add_output_options(ap, duration="profile")
    return ap


def main(argv: Sequence[str] | None = None, out: IO[str] = sys.stdout,
         ready: Callable[[], None] | None = None) -> int:
    ap = parser()
    args, user, kernel = so.parse_stack_args(ap, argv)
    if args.frequency <= 0:
        ap.error(f"-F {args.frequency}: the frequency must be positive")
    what = f"PID {args.pid}" if args.pid else "all threads"
    so.note(args, out, f"Sampling at {args.frequency} Hz of {what} by "
              f"{so.stacks_text(user, kernel)}"
              f" stack for {args.duration:g} secs.")
    res = record(args.duration, frequency=args.frequency, pid=args.pid, tid=args.tid,
                 user=user, kernel=kernel,
                 include_idle=args.include_idle, per_thread=args.per_thread,
                 build_ids=args.build_id, symbolizer=so.symbolizer_from(args), ready=ready)
    so.write_outputs(res.profile, args, f"profile: {res.samples} samples", out)
    if res.lost_user:  # (kernel walks "fail" for every sample taken in user mode)
        print(f"WARNING: {res.lost_user} of {res.samples} user stack walks failed "
              "(kernel threads have none; else no frame pointers)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
