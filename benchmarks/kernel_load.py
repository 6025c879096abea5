#!/usr/bin/env python3
"""Object load time: ``ebpf.load(OBJ, backend="kernel")`` in-process against
``bpftool prog loadall OBJ /sys/fs/bpf/x`` (Debian's bpftool, for comparison
only; skipped with a note when missing), reported as a ratio in one run.

The object is a libbpf-style XDP program (hash, array, per-CPU and program-array
maps, globals, a BPF-to-BPF call, a bounded loop, a tail call), compiled once.

    python benchmarks/kernel_load.py [--rounds N] [--json]
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
import uuid
from pathlib import Path

SOURCE = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096);
         __type(key, __u32); __type(value, __u64); } sizes SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 16);
         __type(key, __u32); __type(value, __u64); } stats SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1);
         __type(key, __u32); __type(value, __u64); } percpu SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4);
         __type(key, __u32); __type(value, __u32); } jumps SEC(".maps");

const volatile __u32 verdict = XDP_PASS;
__u64 packets;

static __noinline __u64 mix(__u64 acc, __u8 b) { return acc * 31 + b; }

SEC("xdp")
int other(struct xdp_md *ctx) { return XDP_TX; }

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 len = end - data, zero = 0;
	__u64 one = 1, *v = bpf_map_lookup_elem(&sizes, &len);
	if (v) __sync_fetch_and_add(v, 1);
	else bpf_map_update_elem(&sizes, &len, &one, BPF_ANY);
	v = bpf_map_lookup_elem(&percpu, &zero);
	if (v) *v += 1;
	__u64 acc = 0;
	__u8 *p = data;
	for (int i = 0; i < 32; i++) {
		if ((void *)(p + i + 1) > end) break;
		acc = mix(acc, p[i]);
	}
	v = bpf_map_lookup_elem(&stats, &zero);
	if (v) *v = acc;
	packets++;
	bpf_tail_call(ctx, &jumps, 0);
	return verdict;
}
char LICENSE[] SEC("license") = "GPL";
"""


def build(tmp: Path) -> Path:
    from ebpf.toolchain import compile as compile_c

    src = tmp / "bench_load.bpf.c"
    src.write_text(SOURCE)
    return compile_c(src, tmp / "bench_load.bpf.o")


def time_ours(obj: Path, rounds: int) -> list[float]:
    import ebpf

    ebpf.load(obj, backend="kernel").close()  # warm caches (imports, probes)
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        o = ebpf.load(obj, backend="kernel")
        out.append(time.perf_counter() - t0)
        o.close()
    return out


def time_bpftool(obj: Path, rounds: int) -> list[float] | None:
    tool = shutil.which("bpftool")
    if tool is None:
        return None
    out = []
    for _ in range(rounds):
        pin = f"/sys/fs/bpf/ebpf-bench-{uuid.uuid4().hex[:8]}"
        t0 = time.perf_counter()
        r = subprocess.run([tool, "prog", "loadall", str(obj), pin], capture_output=True,
                           text=True)
        out.append(time.perf_counter() - t0)
        shutil.rmtree(pin, ignore_errors=True)
        if r.returncode:
            print(f"bpftool failed: {r.stderr.strip()}", file=sys.stderr)
            return None
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("kernel_load: needs root for bpf(2)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as d:
        obj = build(Path(d))
        ours = time_ours(obj, args.rounds)
        theirs = time_bpftool(obj, max(5, args.rounds // 3))
    res = {"rounds": args.rounds, "ebpf_load_median_ms": statistics.median(ours) * 1e3,
           "ebpf_load_min_ms": min(ours) * 1e3}
    if theirs is not None:
        res["bpftool_loadall_median_ms"] = statistics.median(theirs) * 1e3
        res["ratio_bpftool_over_ebpf"] = statistics.median(theirs) / statistics.median(ours)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"ebpf.load(backend='kernel') in-process: median {res['ebpf_load_median_ms']:7.2f} ms"
          f" (min {res['ebpf_load_min_ms']:.2f} ms, {args.rounds} rounds)")
    if theirs is None:
        print("bpftool prog loadall: skipped (bpftool not installed or failed)")
    else:
        print(f"bpftool prog loadall (new process):    median "
              f"{res['bpftool_loadall_median_ms']:7.2f} ms")
        print(f"ratio bpftool / ebpf: {res['ratio_bpftool_over_ebpf']:.2f}x "
              "(>1: loading in-process with ebpf is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
