#!/usr/bin/env python3
"""opensnoop: trace openat() calls: who opened which file, and the result.

    sudo python examples/opensnoop/opensnoop.py --duration 10 [--pid PID]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import ebpf

SRC = Path(__file__).resolve().with_name("opensnoop.bpf.c")


def text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Trace openat() calls.")
    ap.add_argument("--duration", type=float, help="stop after this many seconds")
    ap.add_argument("--backend", choices=("kernel", "vm"), help="default: kernel when usable")
    ap.add_argument("--pid", type=int, default=0, help="only this process")
    ap.add_argument("--name", help="only paths containing this text")
    ap.add_argument("--failed", "-x", action="store_true", help="only failed opens")
    args = ap.parse_args(argv)
    backend = args.backend or ebpf.default_backend()
    if backend != "kernel":
        print("opensnoop: openat() calls are kernel events; this tool needs the kernel backend",
              file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        obj_path = ebpf.compile(SRC, Path(tmp) / "opensnoop.bpf.o")
        with ebpf.load(obj_path, backend=backend, constants={"target_pid": args.pid}) as obj:
            obj.attach()
            rb = ebpf.RingBuffer(obj.maps["events"], decode="event")
            print(f"{'PID':<7} {'COMM':<16} {'FD':>3} {'ERR':>3} PATH", flush=True)
            deadline = None if args.duration is None else time.monotonic() + args.duration
            try:
                while deadline is None or time.monotonic() < deadline:
                    wait = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
                    for ev in rb.poll(timeout=min(wait, 0.5)):
                        path = text(ev.fname)
                        if args.name and args.name not in path:
                            continue
                        if args.failed and ev.ret >= 0:
                            continue
                        fd, err = (ev.ret, 0) if ev.ret >= 0 else (-1, -ev.ret)
                        print(f"{ev.pid:<7} {text(ev.comm):<16} {fd:>3} {err:>3} {path}",
                              flush=True)
            except KeyboardInterrupt:
                pass
            finally:
                rb.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
