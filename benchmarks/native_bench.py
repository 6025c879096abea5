#!/usr/bin/env python3
"""The vm's native executor (LLVM machine code) against the kernel's JIT, per
packet, on the same object and input (benchmarks/progs/native_bench.bpf.c):

* ``fnv_inline``: FNV-1a over 1,024 packet bytes in one loop (target <= 1.1x);
* ``fnv_call``: the same with a noinline BPF-to-BPF call per byte (target
  <= 0.5x: LLVM inlines what the kernel cannot);
* ``parse_count``: Ethernet + IPv4 parse, an array and a hash lookup (<= 2x);
* ``helpers_mix`` (no target): a hash update in place, a hash insert and
  delete, a ring-buffer record and a tail call.

Both sides loop in native code (the kernel's BPF_PROG_TEST_RUN repeat, the
vm's native test_run loop); each figure is the best of several interleaved
trials, since the machine may be busy. Compile time per program is reported.

    python benchmarks/native_bench.py [--repeat N] [--trials N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "progs" / "native_bench.bpf.c"
TARGETS = {"fnv_inline": 1.1, "fnv_call": 0.5, "parse_count": 2.0}
#: measured too, without a target: the helpers generated code runs itself
EXTRA = ("helpers_mix",)


def inputs() -> dict[str, bytes]:
    fnv = bytes((i * 7 + 3) & 0xFF for i in range(1100))
    eth = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
    ip = bytes([0x45, 0, 0, 60, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    pkt = eth + ip + bytes(range(40))
    return {"fnv_inline": fnv, "fnv_call": fnv, "parse_count": pkt, "helpers_mix": pkt}


def setup(obj) -> None:
    obj.maps["src_bytes"][0x0100000A] = 0  # 10.0.0.1 is counted: the hash lookup hits
    obj.maps["next_prog"][0] = obj.programs["tail_target"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=2000)
    ap.add_argument("--trials", type=int, default=9)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import ebpf
    from ebpf.vm.native import available

    if not available():
        print("native_bench: llvmlite is not installed; nothing to measure")
        return 0
    obj_path = ebpf.compile(SOURCE, Path(os.environ.get("TMPDIR", "/tmp")) / "native_bench.o")
    kernel = os.geteuid() == 0
    if kernel:
        from ebpf.kernel.probes import bpf_usable

        kernel = bpf_usable()
    data = inputs()
    res: dict[str, float] = {}
    objs = {}
    t0 = time.perf_counter()
    # the static verifier (verify=True) is measured elsewhere: this is the executor
    objs["native"] = ebpf.load(obj_path, backend="vm", executor="native", verify=False)
    res["native_load_ms"] = (time.perf_counter() - t0) * 1e3
    for name in (*TARGETS, *EXTRA):
        prog = objs["native"].programs[name]
        res[f"{name}_compile_ms"] = prog.executor.compiled(prog.code).compile_ns / 1e6
    if kernel:
        objs["kernel"] = ebpf.load(obj_path, backend="kernel")
    try:
        for o in objs.values():
            setup(o)
        for name in (*TARGETS, *EXTRA):
            best: dict[str, float] = {}
            retvals = set()
            for _ in range(args.trials):
                for side, o in objs.items():
                    r = o.programs[name].test_run(data[name], repeat=args.repeat)
                    retvals.add(r.retval)
                    best[side] = min(best.get(side, float("inf")), max(r.duration_ns, 1))
            if len(retvals) != 1:
                raise SystemExit(f"{name}: backends disagree on r0: {retvals}")
            for side, ns in best.items():
                res[f"{name}_{side}_ns"] = float(ns)
            if kernel:
                res[f"{name}_native_over_kernel"] = best["native"] / best["kernel"]
    finally:
        for o in objs.values():
            o.close()
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print("native executor vs kernel JIT" + ("" if kernel else " (no kernel: needs root)"))
    for key, value in res.items():
        unit = "x" if "_over_" in key else ""
        target = ""
        limit = TARGETS.get(key.removesuffix("_native_over_kernel"))
        if key.endswith("_native_over_kernel") and limit is not None:
            target = f"  (target <= {limit}x: {'met' if value <= limit else 'NOT met'})"
        print(f"  {key:36s} {value:12,.2f}{unit}{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
