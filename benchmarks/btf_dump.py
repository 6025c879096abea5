#!/usr/bin/env python3
"""Whole-command BTF dumps of the running kernel: ``ebpf btf dump vmlinux`` (raw, one
type a line) and ``ebpf btf dump vmlinux -f c`` (``vmlinux.h``) against bpftool's
``btf dump file /sys/kernel/btf/vmlinux [format c]``, in one run, output discarded.

"warm" runs have the BTF text cache (``~/.cache/ebpf/btf``, keyed by the kernel's BTF)
filled, as every run after the first on a machine does; "cold" runs start from an
empty cache (parse the BTF and render). Goal (#17): warm dumps <= 1.0x bpftool's time.

    python benchmarks/btf_dump.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KERNEL_BTF = "/sys/kernel/btf/vmlinux"


def timed(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        elapsed = time.perf_counter() - t
        if r.returncode:
            raise SystemExit(f"btf_dump: {' '.join(cmd)} failed: {r.stderr.decode()[-500:]}")
        out.append(elapsed)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    bpftool = shutil.which("bpftool")
    if not os.path.exists(KERNEL_BTF) or bpftool is None:
        print("btf_dump: needs kernel BTF and bpftool", file=sys.stderr)
        return 1
    ebpf = str(Path(sys.executable).with_name("ebpf"))
    env = dict(os.environ)
    res: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ebpf-btf-dump-") as tmp:
        for fmt, extra, theirs in (("raw", [], []), ("c", ["-f", "c"], ["format", "c"])):
            cold = []
            for i in range(max(1, args.runs // 2)):  # each cold run its own empty cache
                cold_env = dict(env, XDG_CACHE_HOME=str(Path(tmp) / f"{fmt}{i}"))
                cold += timed([ebpf, "btf", "dump", "vmlinux", *extra], cold_env, 1)
            timed([ebpf, "btf", "dump", "vmlinux", *extra], env, 1)  # fill the warm cache
            warm = timed([ebpf, "btf", "dump", "vmlinux", *extra], env, args.runs)
            tool = timed([bpftool, "btf", "dump", "file", KERNEL_BTF, *theirs], env, args.runs)
            for label, times in (("ebpf warm", warm), ("ebpf cold", cold), ("bpftool", tool)):
                res[f"{fmt} {label}"] = {"best": min(times), "median": statistics.median(times)}
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print("kernel BTF dump, whole command, output discarded: best / median seconds, "
          "ratio = median / bpftool's median")
    for fmt in ("raw", "c"):
        base = res[f"{fmt} bpftool"]["median"]
        for label in ("ebpf warm", "ebpf cold", "bpftool"):
            r = res[f"{fmt} {label}"]
            print(f"  {fmt:<4} {label:<10} {r['best']:7.3f} / {r['median']:7.3f}   "
                  f"{r['median'] / base:5.2f}x")
    worst = max(res[f"{f} ebpf warm"]["median"] / res[f"{f} bpftool"]["median"]
                for f in ("raw", "c"))
    print(f"worst warm ratio {worst:.2f}x (goal <= 1.0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
