"""mallocsize: a uprobe on libc's malloc(): histogram of requested sizes and
bytes asked for per process.

    ebpf tool mallocsize --pid 1234 --duration 5
    ebpf tool mallocsize -- python3 -c "x = [bytearray(5000) for _ in range(100)]"
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from .base import Output, Ready, ToolParser, object_path


def main(argv: list[str] | None = None, ready: Ready = None) -> int:
    import ebpf

    ap = ToolParser("mallocsize", "Histogram of malloc() sizes (uprobe on libc).")
    ap.add_argument("--pid", type=int, help="only this process (default: every process)")
    ap.add_argument("--duration", type=float, default=5.0,
                    help="seconds to trace when no command is given (default 5)")
    ap.add_argument("--backend", choices=("kernel", "vm"), help="default: kernel when usable")
    ap.add_argument("--lib", default="libc.so.6", help="library with malloc (default libc.so.6)")
    ap.add_argument("command", nargs=argparse.REMAINDER,
                    help="run this command and trace only it (after --)")
    args = ap.parse_args(argv)
    out = Output(args.json)
    command = [c for c in args.command if c != "--"] if args.command else []
    backend = args.backend or ebpf.default_backend()
    if backend != "kernel":
        print("mallocsize: uprobes are kernel events; this tool needs the kernel backend",
              file=sys.stderr)
        return 1
    obj_path = object_path("mallocsize")
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
                if ready:
                    ready()
                if child is not None:
                    child.communicate(b"go\n")
                else:
                    out.note(f"Tracing malloc() for {args.duration:g}s... Ctrl-C to stop.")
                    time.sleep(args.duration)
            except KeyboardInterrupt:
                pass
            finally:
                if child is not None and child.poll() is None:
                    child.kill()
                    child.wait()
        hist = ebpf.Histogram.from_map(obj.maps["size_hist"], unit="bytes")
        per_pid = sorted(obj.maps["per_pid"].items(), key=lambda kv: -kv[1].bytes)
    out.histogram(hist)
    out.text(f"\n{'PID':<8} {'CALLS':>10} {'BYTES':>14}")
    for p, t in per_pid[:10]:
        out.row({"pid": p, "calls": t.calls, "bytes": t.bytes},
                f"{p:<8} {t.calls:>10} {t.bytes:>14}")
    return 0


if __name__ == "__main__":
    from .base import run_main

    run_main(main)
