#!/usr/bin/env python3
"""tcpconnect: trace IPv4 TCP connect()s: PID COMM SADDR SPORT DADDR DPORT RESULT.

    sudo python examples/tcpconnect/tcpconnect.py --duration 10 [--pid PID]

The sock/inet_sock_set_state tracepoint (works on kernels without kprobes): one
line per connection attempt once it is established or has failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import ebpf

SRC = Path(__file__).resolve().with_name("tcpconnect.bpf.c")


def ip(addr: bytes) -> str:
    return ".".join(str(b) for b in addr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Trace TCP connect() calls (IPv4).")
    ap.add_argument("--duration", type=float, help="stop after this many seconds")
    ap.add_argument("--backend", choices=("kernel", "vm"), help="default: kernel when usable")
    ap.add_argument("--pid", type=int, default=0, help="only this process")
    ap.add_argument("--count", action="store_true",
                    help="print connections per destination port at the end")
    args = ap.parse_args(argv)
    backend = args.backend or ebpf.default_backend()
    if backend != "kernel":
        print("tcpconnect: connect() calls are kernel events; this tool needs the kernel "
              "backend", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        obj_path = ebpf.compile(SRC, Path(tmp) / "tcpconnect.bpf.o")
        with ebpf.load(obj_path, backend=backend, constants={"target_pid": args.pid}) as obj:
            obj.attach()
            rb = ebpf.RingBuffer(obj.maps["events"], decode="event")
            print(f"{'PID':<7} {'COMM':<16} {'SADDR':<15} {'SPORT':>5} {'DADDR':<15} "
                  f"{'DPORT':>5} RESULT", flush=True)
            deadline = None if args.duration is None else time.monotonic() + args.duration
            try:
                while deadline is None or time.monotonic() < deadline:
                    wait = 0.5 if deadline is None else max(0.0, deadline - time.monotonic())
                    for ev in rb.poll(timeout=min(wait, 0.5)):
                        comm = ev.comm.split(b"\0", 1)[0].decode("utf-8", "replace")
                        print(f"{ev.pid:<7} {comm:<16} {ip(ev.saddr):<15} {ev.sport:>5} "
                              f"{ip(ev.daddr):<15} {ev.dport:>5} "
                              f"{'connected' if ev.established else 'failed'}", flush=True)
            except KeyboardInterrupt:
                pass
            finally:
                rb.close()
            if args.count:
                print(f"\n{'DPORT':>5} {'CONNECTS':>9}")
                for port, n in sorted(obj.maps["by_dport"].items(), key=lambda kv: -kv[1]):
                    print(f"{port:>5} {n:>9}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
