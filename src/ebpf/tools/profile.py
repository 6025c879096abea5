"""profile: CPU profiling by timed sampling of stack traces (a perf event per
CPU at ``-F`` Hz), counted in the kernel by (process, user stack, kernel stack).

    ebpf tool profile -F 99 10              # every process, 10 seconds
    ebpf tool profile -p 1234 -f 5 > out.folded
    ebpf tool profile -p 1234 --flamegraph cpu.html 5
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from ..stacks import StackProfile
from ..stacks.collect import StackCollector, remember_pids
from ..symbols import Symbolizer
from .base import ToolParser
from .stackout import add_output_options, load_tool, note, symbolizer_from, write_outputs

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
    with load_tool(NAME, consts) as obj:
        prog = obj.programs["do_sample"]
        seen: set[int] = set()
        # cpu-clock counts nanoseconds: a fixed period gives exactly ``frequency``
        # samples a second per busy CPU (frequency mode starts at period 1 and adapts)
        with prog.attach(perf_event={"type": "software", "config": "cpu_clock",
                                     "sample_period": max(1, 10**9 // frequency)}):
            if pid:
                sym.remember(pid)  # before it can exit
            if ready is not None:
                ready()
            start = time.monotonic()  # the duration counts from here, once attached
            end = start + duration
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                time.sleep(min(left, 0.5))
                remember_pids(sym, obj.maps["counts"].keys(), seen)
        elapsed = time.monotonic() - start
        rows = list(obj.maps["counts"].items())
        remember_pids(sym, (k for k, _ in rows), seen)
        collector = StackCollector(sym, obj.maps["stacks"],
                                   obj.maps["build_id_stacks"] if build_ids else None)
        prof = collector.profile(rows, unit="samples", per_thread=per_thread)
        stats = [sum(v) for v in (obj.maps["stats"][i] for i in range(3))]
    return ProfileResult(prof, stats[0], stats[1], stats[2], elapsed)


def parser() -> ToolParser:
    ap = ToolParser(NAME, DESCRIPTION, EXAMPLES)
    ap.add_argument("-p", "--pid", type=int, help="profile this process only")
    ap.add_argument("-L", "--tid", type=int, help="profile this thread only")
    ap.add_argument("-U", "--user-stacks-only", action="store_true", help="user stacks only")
    ap.add_argument("-K", "--kernel-stacks-only", action="store_true",
                    help="kernel stacks only")
    ap.add_argument("-F", "--frequency", type=int, default=49,
                    help="sample frequency, Hz (default 49)")
    ap.add_argument("-I", "--include-idle", action="store_true",
                    help="include the idle task (pid 0)")
    ap.add_argument("--per-thread", action="store_true", help="one stack per thread")
    ap.add_argument("--build-id", action="store_true",
                    help="take user stacks as (build id, offset) frames (BPF_F_USER_BUILD_ID)")
    add_output_options(ap)
    ap.add_argument("duration", nargs="?", type=float, default=5.0,
                    help="seconds to profile (default 5)")
    return ap


def main(argv: Sequence[str] | None = None, out: IO[str] = sys.stdout,
         ready: Callable[[], None] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.user_stacks_only and args.kernel_stacks_only:
        parser().error("-U and -K exclude each other")
    if args.frequency <= 0:
        parser().error(f"-F {args.frequency}: the frequency must be positive")
    what = f"PID {args.pid}" if args.pid else "all threads"
    note(args, out, f"Sampling at {args.frequency} Hz of {what} by "
              f"{'user' if args.user_stacks_only else 'kernel' if args.kernel_stacks_only else 'user + kernel'}"
              f" stack for {args.duration:g} secs.")
    res = record(args.duration, frequency=args.frequency, pid=args.pid, tid=args.tid,
                 user=not args.kernel_stacks_only, kernel=not args.user_stacks_only,
                 include_idle=args.include_idle, per_thread=args.per_thread,
                 build_ids=args.build_id, symbolizer=symbolizer_from(args), ready=ready)
    write_outputs(res.profile, args, f"profile: {res.samples} samples", out)
    if res.lost_user:  # (kernel walks "fail" for every sample taken in user mode)
        print(f"WARNING: {res.lost_user} of {res.samples} user stack walks failed "
              "(kernel threads have none; else no frame pointers)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
