#!/usr/bin/env python3
"""sleeplat: how long clock_nanosleep() really sleeps, as a log2 histogram.

    sudo python examples/sleeplat/sleeplat.py --duration 5 [--pid PID]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import ebpf

SRC = Path(__file__).resolve().with_name("sleeplat.bpf.c")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Histogram of clock_nanosleep() latency.")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds to trace (default 5)")
    ap.add_argument("--backend", choices=("kernel", "vm"), help="default: kernel when usable")
    ap.add_argument("--pid", type=int, default=0, help="only this process")
    ap.add_argument("--png", help="also save the histogram as a PNG (needs ebpf[plot])")
    args = ap.parse_args(argv)
    backend = args.backend or ebpf.default_backend()
    if backend != "kernel":
        print("sleeplat: system calls are kernel events; this tool needs the kernel backend",
              file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        obj_path = ebpf.compile(SRC, Path(tmp) / "sleeplat.bpf.o")
        with ebpf.load(obj_path, backend=backend, constants={"target_tgid": args.pid}) as obj:
            obj.attach()
            print(f"Tracing clock_nanosleep() for {args.duration:g}s... Ctrl-C to stop early.",
                  flush=True)
            try:
                time.sleep(args.duration)
            except KeyboardInterrupt:
                pass
            hist = ebpf.Histogram.from_map(obj.maps["hist"], unit="usecs")
    print(hist.render())
    if hist.total:
        print(f"{hist.total} sleeps; median <= {hist.percentile(50)} us, "
              f"p99 <= {hist.percentile(99)} us")
    if args.png:
        print(f"saved {hist.save_png(args.png, title='clock_nanosleep latency')}")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
