#!/usr/bin/env python3
"""The user-space runtime's speed: instructions per second of the reference
interpreter, the translator and the native executor, and time per packet of a real XDP
object (maps, global data, subprogram, loop) against the kernel's
BPF_PROG_TEST_RUN of the same object, as ratios in one run; and the load time of a
program of a million instructions (--long).

    python benchmarks/vm_bench.py [--loops N] [--packets N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
XDP_SOURCE = HERE.parent / "tests" / "vm" / "progs" / "xdp_stats.c"


def loop_program(n: int):
    """r0 = mix of 1..n: 6 instructions per iteration."""
    from ebpf.isa import Instruction
    from ebpf.isa import opcodes as op

    return [
        Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=0, imm=0),
        Instruction(op.BPF_ALU64 | op.BPF_MOV, dst=1, imm=n),
        Instruction(op.BPF_ALU64 | op.BPF_ADD | op.BPF_X, dst=0, src=1),
        Instruction(op.BPF_ALU64 | op.BPF_XOR, dst=0, imm=0x55),
        Instruction(op.BPF_ALU64 | op.BPF_MUL, dst=0, imm=3),
        Instruction(op.BPF_ALU | op.BPF_RSH, dst=0, imm=1),
        Instruction(op.BPF_ALU64 | op.BPF_SUB, dst=1, imm=1),
        Instruction(op.BPF_JMP | op.BPF_JNE, dst=1, imm=0, off=-6),
        Instruction(op.EXIT),
    ]


def bench_instructions(loops: int, kernel: bool) -> dict[str, float]:
    import ebpf

    spec = ebpf.ProgramSpec(name="loop", type=ebpf.ProgramType.XDP,
                            instructions=loop_program(loops), license="GPL")
    res: dict[str, float] = {}
    retvals = set()
    for name in executors():
        prog = ebpf.Program.load(spec, backend="vm", executor=name)
        prog.test_run(bytes(64))  # warm up (translation happens at load)
        dt = float("inf")
        for _ in range(3):  # best of three: the machine may be busy
            t0 = time.perf_counter()
            r = prog.test_run(bytes(64))
            dt = min(dt, time.perf_counter() - t0)
        retvals.add(r.retval)
        res[f"{name}_insns_per_s"] = r.instructions / dt
        prog.close()
    if kernel:
        with ebpf.Program.load(spec, backend="kernel") as kp:
            r = kp.test_run(bytes(64), repeat=20)
            retvals.add(r.retval)
            insns = 2 + 6 * loops + 1
            res["kernel_insns_per_s"] = insns / (max(r.duration_ns, 1) / 1e9)
    if len(retvals) != 1:
        raise SystemExit(f"backends disagree on r0: {retvals}")
    res["translator_over_interpreter"] = (res["translator_insns_per_s"]
                                          / res["interpreter_insns_per_s"])
    if kernel:
        res["kernel_over_translator"] = res["kernel_insns_per_s"] / res["translator_insns_per_s"]
        if "native_insns_per_s" in res:
            res["native_over_kernel_speed"] = res["native_insns_per_s"] / res["kernel_insns_per_s"]
    return res


def bench_load(n: int) -> dict[str, float]:
    """Seconds to load (unverified) and to run a straight-line program of ``n``
    instructions on each executor: programs longer than MAX_COMPILED_SLOTS run
    on the interpreter, so a million instructions load in seconds."""
    import resource
    import warnings

    import ebpf
    from ebpf.isa import Instruction
    from ebpf.isa import opcodes as op

    add = (op.BPF_ALU64 | op.BPF_ADD | op.BPF_K, 0, 0, 0, 1)
    insns = [Instruction(op.BPF_ALU64 | op.BPF_MOV | op.BPF_K, dst=0, imm=0),
             *(Instruction(*add) for _ in range(n)), Instruction(op.EXIT)]
    spec = ebpf.ProgramSpec(name="long", type=ebpf.ProgramType.SOCKET_FILTER,
                            instructions=insns, license="GPL")
    res: dict[str, float] = {}
    for name in executors():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            prog = ebpf.Program.load(spec, backend="vm", executor=name, verify=False)
            res[f"load_{n}_insns_{name}_s"] = time.perf_counter() - t0
        with prog:
            t0 = time.perf_counter()
            if prog.test_run(bytes(64), budget=n + 2).retval != n & 0xFFFF_FFFF:
                raise SystemExit("long program: wrong result")
            res[f"run_{n}_insns_{name}_s"] = time.perf_counter() - t0
    res["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return res


def executors() -> list[str]:
    """The executors to measure: the native one when llvmlite is there."""
    from ebpf.vm.native import available

    return ["interpreter", "translator"] + (["native"] if available() else [])


def bench_packets(n: int, kernel: bool) -> dict[str, float]:
    import ebpf

    obj_path = ebpf.compile(XDP_SOURCE, Path(os.environ.get("TMPDIR", "/tmp")) / "vm_bench_xdp.o")
    eth = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"
    ip = bytes([0x45, 0, 0, 60, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
    frame = eth + ip + bytes(range(40))
    res: dict[str, float] = {}
    backends = [(f"vm_{ex}", "vm", ex) for ex in executors()]
    if kernel:
        backends.append(("kernel", "kernel", None))
    for name, backend, ex in backends:
        opts = {} if ex is None else {"executor": ex}
        with ebpf.load(obj_path, backend=backend, constants={"drop_proto": 17}, **opts) as obj:
            obj.maps["jmp"][0] = obj.programs["xdp_tail"]
            prog = obj.programs["xdp_main"]
            prog.test_run(frame)
            best = min(prog.test_run(frame, repeat=n).duration_ns for _ in range(3))
            res[f"{name}_ns_per_packet"] = float(max(best, 1))
    res["translator_speedup_over_interpreter"] = (res["vm_interpreter_ns_per_packet"]
                                                  / res["vm_translator_ns_per_packet"])
    if kernel:
        for ex in executors():
            if ex != "interpreter":
                res[f"vm_{ex}_over_kernel_time"] = (res[f"vm_{ex}_ns_per_packet"]
                                                   / res["kernel_ns_per_packet"])
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--loops", type=int, default=20000)
    ap.add_argument("--packets", type=int, default=1000)
    ap.add_argument("--long", type=int, default=1_000_000,
                    help="instructions of the long program whose load time is measured")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    kernel = os.geteuid() == 0
    if kernel:
        try:
            from ebpf.kernel.probes import bpf_usable

            kernel = bpf_usable()
        except ImportError:
            kernel = False
    res = bench_instructions(args.loops, kernel)
    res.update(bench_packets(args.packets, kernel))
    res.update(bench_load(args.long))
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print("ebpf.vm speed" + ("" if kernel else " (no kernel comparison: needs root and bpf(2))"))
    for key, value in res.items():
        unit = "x" if "_over_" in key or "speedup" in key else ("s" if key.endswith("_s")
                                                                else "")
        print(f"  {key:40s} {value:16,.2f}{unit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
