"""memleak: trace outstanding memory allocations of a process by stack (uprobes on
the allocator: malloc, calloc, realloc, memalign/aligned_alloc, free).

Every interval, the stacks holding the most outstanding bytes are printed, symbolized
through ``ebpf.symbols``. Kernel allocations (the classic tool without ``-p``) need
the kmem tracepoints and are not covered: this tool traces one user process.
"""

from __future__ import annotations

import contextlib
import struct
import subprocess
import time

from .base import Output, Ready, ToolParser, attached, hms, intervals, require_kernel

EXAMPLES = """\
    ebpf tool memleak -p 181              # outstanding allocations of PID 181, every 5 s
    ebpf tool memleak -p 181 -a 10        # also list the addresses, every 10 s
    ebpf tool memleak -c "./prog arg"     # run a command and trace it
    ebpf tool memleak -p 181 -o 60000     # only allocations older than 60 s
    ebpf tool memleak -p 181 -z 4096      # only allocations of 4096 bytes or more
"""
PROBES = [("malloc", "malloc_enter", "malloc_exit"), ("calloc", "calloc_enter", "calloc_exit"),
          ("realloc", "realloc_enter", "realloc_exit"),
          ("memalign", "aligned_enter", "aligned_exit"),
          ("aligned_alloc", "aligned_enter", "aligned_exit"), ("free", "free_enter", None)]


def parser() -> ToolParser:
    p = ToolParser("memleak", "Trace outstanding memory allocations of a process", EXAMPLES)
    p.pid("process to trace")
    p.add_argument("-t", "--trace", action="store_true", help="unused (kept for the classic "
                   "spelling); allocations are summarized by stack")
    p.add_argument("-a", "--show-allocs", action="store_true",
                   help="show allocation addresses and sizes as well as stacks")
    p.add_argument("-o", "--older", type=int, default=500,
                   help="prune allocations younger than this age in milliseconds")
    p.add_argument("-c", "--command", help="execute and trace the specified command")
    p.add_argument("-s", "--sample-rate", type=int, default=1,
                   help="sample every N-th allocation (roughly)")
    p.add_argument("-T", "--top", type=int, default=10, help="display only this many top stacks")
    p.add_argument("-z", "--min-size", type=int, default=0, help="capture only allocations >= this")
    p.add_argument("-Z", "--max-size", type=int, default=0, help="capture only allocations <= this")
    p.add_argument("-O", "--obj", default="c", help="attach to allocator functions in this object")
    p.interval(5.0)
    p.duration()
    return p


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    from ..errors import Error
    from ..kernel.uprobe import resolve_binary
    from ..symbols import Symbolizer

    args = parser().parse_args(argv)
    require_kernel("memleak")
    if not args.pid and not args.command:
        raise Error("memleak: give -p PID or -c COMMAND (kernel allocations are not traced)")
    out = Output(args.json)
    child = None
    pid = args.pid
    if args.command:
        # the child waits for a line on stdin, so the probes are in place before it runs
        child = subprocess.Popen(["/bin/sh", "-c", 'read _ && exec ' + args.command],
                                 stdin=subprocess.PIPE)
        pid = child.pid
    lib = resolve_binary("libc.so.6" if args.obj in ("c", "libc") else args.obj, pid)
    consts = {"min_size": args.min_size, "max_size": args.max_size,
              "sample_every": max(args.sample_rate, 1)}
    sym = Symbolizer()
    try:
        with attached("memleak", consts, attach=False) as obj, contextlib.ExitStack() as st:
            for func, enter, leave in PROBES:
                try:
                    st.enter_context(obj.programs[enter].attach(binary=lib, symbol=func,
                                                                pid=pid))
                    if leave:
                        st.enter_context(obj.programs[leave].attach(
                            binary=lib, symbol=func, pid=pid, retprobe=True))
                except Error as e:
                    if func in ("malloc", "free"):
                        raise
                    out.note(f"memleak: {func} not traced: {e}")
            sym.remember(pid)
            out.note(f"Attaching to pid {pid}, Ctrl+C to quit.")
            if child is not None and child.stdin is not None:
                child.stdin.write(b"go\n")
                child.stdin.flush()
            if ready:
                ready()

            def tick(last: bool) -> None:
                report(obj, out, sym, pid, args)

            intervals(args.interval, args.count, args.duration, tick)
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
    return 0


def report(obj, out: Output, sym, pid: int, args) -> None:
    now = time.monotonic_ns()
    by_stack: dict[int, list[int]] = {}
    addrs: list[tuple[int, int]] = []
    for addr, info in obj.maps["allocs"].items():
        if now - info.ts_ns < args.older * 1_000_000:
            continue
        agg = by_stack.setdefault(info.stack_id, [0, 0])
        agg[0] += info.size
        agg[1] += 1
        addrs.append((addr, info.size))
    out.text(f"[{hms()}] Top {args.top} stacks with outstanding allocations:")
    if args.show_allocs:
        for addr, size in sorted(addrs):
            out.text(f"\taddr = {addr:x} size = {size}")
    stacks = obj.maps["stacks"]
    for sid, (size, n) in sorted(by_stack.items(), key=lambda kv: -kv[1][0])[:args.top]:
        frames: list[str] = []
        if sid >= 0:
            try:
                raw = stacks[sid]
                if isinstance(raw, (bytes, bytearray)):
                    raw = struct.unpack(f"<{len(raw) // 8}Q", raw)
                ips = [a for a in raw if a]
                frames = [f"{f.name}+{f.offset:#x} [{f.module.rsplit('/', 1)[-1]}]"
                          for f in sym.user_stack(pid, ips)]
            except KeyError:
                frames = []
        out.row({"bytes": size, "allocations": n, "stack": frames},
                f"\t{size} bytes in {n} allocations from stack\n" +
                "\n".join(f"\t\t{f}" for f in frames))


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
