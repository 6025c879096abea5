#!/usr/bin/env python3
"""execsnoop: trace exec() calls, one line per new program, like the classic tool.

    sudo python examples/execsnoop/execsnoop.py --duration 10

Tracepoints syscalls/sys_enter_execve and sys_exit_execve; the parent pid is a
CO-RE read of task->real_parent->tgid; events come through a ring buffer.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import ebpf

SRC = Path(__file__).resolve().with_name("execsnoop.bpf.c")


def text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def format_event(ev) -> str:
    args = " ".join(text(a) for a in ev.args[: ev.args_count])
    return f"{text(ev.comm):<16} {ev.pid:<7} {ev.ppid:<7} {ev.retval:>3} {args}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Trace exec() calls.")
    ap.add_argument("--duration", type=float, help="stop after this many seconds")
    ap.add_argument("--backend", choices=("kernel", "vm"), help="default: kernel when usable")
    ap.add_argument("--ppid", type=int, default=0, help="only children of this process")
    ap.add_argument("--failed", action="store_true", help="only failed exec() calls")
    args = ap.parse_args(argv)
    backend = args.backend or ebpf.default_backend()
    if backend != "kernel":
        print("execsnoop: exec() calls are kernel events; this tool needs the kernel backend "
              "(root and bpf(2))", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        obj_path = ebpf.compile(SRC, Path(tmp) / "execsnoop.bpf.o")
        with ebpf.load(obj_path, backend=backend, constants={"target_ppid": args.ppid}) as obj:
            obj.attach()
            rb = ebpf.RingBuffer(obj.maps["events"], decode="event")
            print(f"{'PCOMM':<16} {'PID':<7} {'PPID':<7} {'RET':>3} ARGS", flush=True)
            deadline = None if args.duration is None else time.monotonic() + args.duration
            try:
                while deadline is None or time.monotonic() < deadline:
                    wait = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
                    for ev in rb.poll(timeout=min(wait, 0.5)):
                        if args.failed and ev.retval == 0:
                            continue
                        print(format_event(ev), flush=True)
            except KeyboardInterrupt:
                pass
            finally:
                rb.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
