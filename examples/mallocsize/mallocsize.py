#!/usr/bin/env python3
"""mallocsize: a uprobe on libc's malloc(): histogram of requested sizes and
bytes asked for per process.

    sudo python examples/mallocsize/mallocsize.py --pid 1234 --duration 5
    sudo python examples/mallocsize/mallocsize.py -- python3 -c "x = [bytearray(5000) for _ in range(100)]"
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ebpf

SRC = Path(__file__).resolve().with_name("mallocsize.bpf.c")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Histogram of malloc() sizes (uprobe on libc).")
    ap.add_argument("--pid", type=int, help="only this process (default: every process)")
    ap.add_argument("--duration", type=float, default=5.0,
                    help="seconds to trace when no command is given (default 5)")
    ap.add_argument("--backend", choices=("kernel", "vm"), help="default: kernel when usable")
    ap.add_argument("--lib", default="libc.so.6", help="library with malloc (default libc.so.6)")
    ap.add_argument("command", nargs=argparse.REMAINDER,
                    help="run this command and trace only it (after --)")
    args = ap.parse_args(argv)
    command = [c for c in args.command if c != "--"] if args.command else []
    backend = args.backend or ebpf.default_backend()
    if backend != "kernel":
        print("mallocsize: uprobes are kernel events; this tool needs the kernel backend",
              file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        obj_path = ebpf.compile(SRC, Path(tmp) / "mallocsize.bpf.o")
        with ebpf.load(obj_path, backend=backend) as obj:
            prog = obj.programs["malloc_enter"]
            child = None
            pid = args.pid
            if command:
                # the child waits for a line on stdin, so the probe is in place before it runs
                child = subprocess.Popen(["/bin/sh", "-c", 'read _ && exec "$@"', "sh", *command],
                                         stdin=subprocess.PIPE)
                pid = child.pid
            target = {"binary": args.lib, "symbol": "malloc"}
            if pid:
                target["pid"] = pid
            with prog.attach(**target):
                try:
                    if child is not None:
                        child.communicate(b"go\n")
                    else:
                        print(f"Tracing malloc() for {args.duration:g}s... Ctrl-C to stop.",
                              flush=True)
                        time.sleep(args.duration)
                except KeyboardInterrupt:
                    pass
                finally:
                    if child is not None and child.poll() is None:
                        child.kill()
                        child.wait()
            hist = ebpf.Histogram.from_map(obj.maps["size_hist"], unit="bytes")
            per_pid = sorted(obj.maps["per_pid"].items(), key=lambda kv: -kv[1].bytes)
    print(hist.render())
    print(f"\n{'PID':<8} {'CALLS':>10} {'BYTES':>14}")
    for p, t in per_pid[:10]:
        print(f"{p:<8} {t.calls:>10} {t.bytes:>14}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
