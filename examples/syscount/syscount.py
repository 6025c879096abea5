#!/usr/bin/env python3
"""syscount: count system calls, per syscall (or per process and syscall).

    sudo python examples/syscount/syscount.py --duration 5 --top 10

A raw tracepoint on sys_enter counts into a hash keyed by (pid, syscall nr);
names come from the system's unistd table.
"""

from __future__ import annotations

import argparse
import collections
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

import ebpf

SRC = Path(__file__).resolve().with_name("syscount.bpf.c")
_UNISTD = {
    "x86_64": ["/usr/include/x86_64-linux-gnu/asm/unistd_64.h", "/usr/include/asm/unistd_64.h"],
    "aarch64": ["/usr/include/asm-generic/unistd.h"],
}


def syscall_names() -> dict[int, str]:
    """Syscall number -> name, from the C library's unistd header."""
    names: dict[int, str] = {}
    for path in _UNISTD.get(platform.machine(), ["/usr/include/asm/unistd_64.h"]):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        for name, nr in re.findall(r"#define\s+__NR3?2?_(\w+)\s+(\d+)\b", text):
            names.setdefault(int(nr), name)
        if names:
            break
    return names


def comm_of(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Count system calls.")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds to count (default 5)")
    ap.add_argument("--backend", choices=("kernel", "vm"), help="default: kernel when usable")
    ap.add_argument("--pid", type=int, default=0, help="only this process")
    ap.add_argument("--top", type=int, default=10, help="rows to print (default 10)")
    ap.add_argument("--per-process", "-P", action="store_true", help="count per process")
    args = ap.parse_args(argv)
    backend = args.backend or ebpf.default_backend()
    if backend != "kernel":
        print("syscount: system calls are kernel events; this tool needs the kernel backend",
              file=sys.stderr)
        return 1
    names = syscall_names()
    with tempfile.TemporaryDirectory() as tmp:
        obj_path = ebpf.compile(SRC, Path(tmp) / "syscount.bpf.o")
        with ebpf.load(obj_path, backend=backend, constants={"target_pid": args.pid}) as obj:
            obj.attach()
            print(f"Tracing system calls for {args.duration:g}s... Ctrl-C to stop early.",
                  flush=True)
            try:
                time.sleep(args.duration)
            except KeyboardInterrupt:
                pass
            for link in obj.links:
                link.close()
            counts = obj.maps["counts"].items()
    totals: collections.Counter = collections.Counter()
    for key, n in counts:
        totals[(key.pid, key.nr) if args.per_process else key.nr] += n
    if args.per_process:
        print(f"{'PID':<8} {'COMM':<16} {'SYSCALL':<22} {'COUNT':>10}")
        for (pid, nr), n in totals.most_common(args.top):
            print(f"{pid:<8} {comm_of(pid):<16} {names.get(nr, f'syscall_{nr}'):<22} {n:>10}")
    else:
        print(f"{'SYSCALL':<22} {'COUNT':>10}")
        for nr, n in totals.most_common(args.top):
            print(f"{names.get(nr, f'syscall_{nr}'):<22} {n:>10}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
