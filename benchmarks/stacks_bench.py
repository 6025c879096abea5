#!/usr/bin/env python3
"""Stacks: symbolization throughput (addresses a second, cold and warm caches,
against binutils' addr2line on the same addresses) and `ebpf tool profile`
side by side with `bpftrace -e 'profile:hz:99 { @[ustack, kstack] = count(); }'`
(restricted to the workload's pid) on the same workload: samples processed, CPU
time spent, and the top stacks of both.

    python benchmarks/stacks_bench.py [--seconds S] [--addresses N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOT_C = r"""
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
volatile unsigned long sink;
__attribute__((noinline)) void spin_here(unsigned long n)
{ for (unsigned long i = 0; i < n; i++) sink += i * 7; }
__attribute__((noinline)) void outer(unsigned long n) { spin_here(n); sink++; }
int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 3.0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do { outer(200000); clock_gettime(CLOCK_MONOTONIC, &t); }
    while ((t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
    return 0;
}
"""


def build_hot(d: Path) -> Path:
    (d / "hot.c").write_text(HOT_C)
    exe = d / "hot"
    subprocess.run(["gcc", "-g", "-O0", "-fno-omit-frame-pointer", "-o", str(exe),
                    str(d / "hot.c")], check=True)
    return exe


def bench_symbolize(n: int) -> dict[str, float]:
    from ebpf.elf.host import HostELF
    from ebpf.symbols import Symbolizer
    from ebpf.symbols.elfsyms import ElfSymbols
    from ebpf.symbols.kallsyms import KernelSymbols
    from ebpf.symbols.procmaps import ProcessMaps

    res: dict[str, float] = {}
    rnd = random.Random(14)
    # kernel: addresses inside text symbols
    ks = KernelSymbols()
    rows = [ks.lookup(a) for a in rnd.sample(ks._addrs, min(n, len(ks._addrs)))]
    kaddrs = [r.address + rnd.randrange(0, 64) for r in rows if r]
    t0 = time.perf_counter()
    cold = Symbolizer(kallsyms=KernelSymbols())  # includes reading /proc/kallsyms
    for a in kaddrs:
        cold.kernel_frame(a)
    res["kernel_cold_addr_per_s"] = len(kaddrs) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for a in kaddrs:
        cold.kernel_frame(a)
    res["kernel_warm_addr_per_s"] = len(kaddrs) / (time.perf_counter() - t0)
    # user: addresses in this process's executable mappings (python, libc, ...)
    pm = ProcessMaps.read(os.getpid())
    files = [e for e in pm.entries if e.is_file]
    uaddrs = []
    for _ in range(n):
        e = rnd.choice(files)
        uaddrs.append(rnd.randrange(e.start, e.end))
    t0 = time.perf_counter()
    sym = Symbolizer()
    frames = [sym.user_frame(os.getpid(), a) for a in uaddrs]
    res["user_cold_addr_per_s"] = len(uaddrs) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for a in uaddrs:
        sym.user_frame(os.getpid(), a)
    res["user_warm_addr_per_s"] = len(uaddrs) / (time.perf_counter() - t0)
    res["user_resolved_share"] = sum(f.resolved for f in frames) / len(frames)
    # baseline: addr2line -f on one file's function addresses vs ElfSymbols
    addr2line = shutil.which("addr2line")
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_hot(Path(tmp))
        elf = HostELF(str(exe))
        funcs = [s for s in elf.symbols() if s.type == 2 and s.size]
        vaddrs = [(f.value + rnd.randrange(0, f.size)) for f in rnd.choices(funcs, k=n)]
        t0 = time.perf_counter()
        es = ElfSymbols(str(exe))
        ours = [es.lookup_vaddr(v) for v in vaddrs]
        res["elf_cold_addr_per_s"] = n / (time.perf_counter() - t0)
        if addr2line:
            t0 = time.perf_counter()
            out = subprocess.run([addr2line, "-f", "-e", str(exe)] + [hex(v) for v in vaddrs],
                                 capture_output=True, text=True, check=True).stdout.split("\n")
            res["addr2line_addr_per_s"] = n / (time.perf_counter() - t0)
            theirs = out[0::2][:n]
            res["agree_with_addr2line"] = sum(
                1 for o, t in zip(ours, theirs, strict=True) if o and o[0] == t) / n
            res["ours_over_addr2line_cold"] = res["elf_cold_addr_per_s"] / res["addr2line_addr_per_s"]
    return res


def _top_user(stacks: dict[tuple[str, ...], int]) -> tuple[tuple[str, ...], float]:
    total = sum(stacks.values()) or 1
    top = max(stacks.items(), key=lambda kv: kv[1])
    return top[0], top[1] / total


def bench_profile(seconds: float) -> dict[str, object]:
    from ebpf.tools import profile

    res: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        exe = build_hot(Path(tmp))
        # ours
        w = subprocess.Popen([str(exe), str(seconds + 30)])
        try:
            profile.record(0.1, frequency=99, pid=w.pid)  # compile + cache outside the timing
            c0 = time.process_time()
            t0 = time.perf_counter()
            r = profile.record(seconds, frequency=99, pid=w.pid)
            wall = time.perf_counter() - t0
            cpu = time.process_time() - c0
            ours: dict[tuple[str, ...], int] = {}
            for stack, v in r.profile.top(pid=w.pid):
                key = tuple(f.name for f in reversed(stack.frames) if not f.kernel)
                ours[key] = ours.get(key, 0) + v
            res["ours_samples"] = r.samples
            res["ours_cpu_s"] = round(cpu, 3)
            res["ours_wall_s"] = round(wall, 3)
            res["ours_samples_per_cpu_s"] = round(r.samples / cpu, 1) if cpu else 0
            top, share = _top_user(ours)
            res["ours_top_user_stack"] = ";".join(top)
            res["ours_top_share"] = round(share, 3)
            # bpftrace on the same workload (still running)
            bt = shutil.which("bpftrace")
            if bt is None:
                res["bpftrace"] = "not installed"
                return res
            prog = (f"profile:hz:99 /pid == {w.pid}/ {{ @[ustack, kstack] = count(); }} "
                    f"interval:s:{max(1, round(seconds))} {{ exit(); }}")
            t0 = time.perf_counter()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            p = subprocess.Popen([bt, "-e", prog], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
            out, _ = p.communicate(timeout=seconds + 120)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            bt_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
            res["bpftrace_wall_s"] = round(time.perf_counter() - t0, 3)
            res["bpftrace_cpu_s"] = round(bt_cpu, 3)
            res["ours_cpu_over_bpftrace"] = round(cpu / bt_cpu, 3) if bt_cpu else 0
            theirs = _parse_bpftrace(out)
            res["bpftrace_samples"] = sum(theirs.values())
            if theirs:
                ttop, tshare = _top_user(theirs)
                res["bpftrace_top_user_stack"] = ";".join(ttop)
                res["bpftrace_top_share"] = round(tshare, 3)
                res["same_top_stack"] = ttop[-3:] == top[-3:]
        finally:
            w.kill()
            w.wait()
    return res


def _parse_bpftrace(text: str) -> dict[tuple[str, ...], int]:
    """@[ustack, kstack]: N blocks -> {user frames root first: count}."""
    out: dict[tuple[str, ...], int] = {}
    for block in re.findall(r"@\[(.*?)\]: (\d+)", text, re.S):
        body, n = block
        user_part = body.split(",")[0]
        names = [ln.strip().split("+")[0] for ln in user_part.strip().splitlines()
                 if ln.strip()]
        key = tuple(reversed(names))
        out[key] = out.get(key, 0) + int(n)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--addresses", type=int, default=20000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    res: dict[str, object] = dict(bench_symbolize(args.addresses))
    if os.geteuid() == 0:
        res.update(bench_profile(args.seconds))
    else:
        print("stacks_bench: profile comparison needs root; skipped", file=sys.stderr)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        for k, v in res.items():
            print(f"{k:32} {v:,.1f}" if isinstance(v, float) and v > 10 else f"{k:32} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
