#!/usr/bin/env python3
"""ISA benchmark: decode, encode, disassemble and assemble a 100k-instruction
program (the size of Cilium's largest programs); llvm-objdump's time to
disassemble the same bytes is shown when LLVM 19 is installed.

    python benchmarks/isa_codec.py [--json]
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

N = 100_000
LLVM_BIN = Path("/usr/lib/llvm-19/bin")


def program(n: int = N) -> bytes:
    """A realistic mix: loads/stores, ALU, branches, lddw, helper calls."""
    rng = random.Random(1)
    slots: list[bytes] = []
    pack = struct.Struct("<BBhi").pack
    while len(slots) < n - 1:
        k = rng.random()
        if k < 0.25:
            slots.append(pack(0x79, rng.randint(0, 9) | (10 << 4), -8 * rng.randint(1, 64), 0))
        elif k < 0.40:
            slots.append(pack(0x7B, 10 | (rng.randint(0, 9) << 4), -8 * rng.randint(1, 64), 0))
        elif k < 0.65:
            slots.append(pack(rng.choice([0x07, 0x17, 0x57, 0x67, 0x77, 0xB7, 0x04, 0xB4]),
                              rng.randint(0, 9), 0, rng.randint(-1000, 1000)))
        elif k < 0.72:
            slots.append(pack(rng.choice([0x15, 0x55, 0x25, 0x16]), rng.randint(0, 9),
                              rng.randint(-50, 50), rng.randint(0, 100)))
        elif k < 0.80:
            slots.append(pack(rng.choice([0x2D, 0x5E, 0xAD]), rng.randint(0, 9) | (rng.randint(0, 9) << 4),
                              rng.randint(-50, 50), 0))
        elif k < 0.88:
            slots.append(pack(0x18, 1, 0, rng.randint(0, 1 << 30)))
            slots.append(pack(0, 0, 0, rng.randint(0, 1 << 20)))
        elif k < 0.96:
            slots.append(pack(0x85, 0, 0, rng.choice([1, 2, 3, 5, 6, 14, 35, 130])))
        else:
            slots.append(pack(0xBF, rng.randint(0, 9) | (rng.randint(0, 10) << 4), 0, 0))
    slots.append(pack(0x95, 0, 0, 0))
    return b"".join(slots)


def objdump_seconds(raw: bytes) -> float | None:
    mc, objdump = LLVM_BIN / "llvm-mc", LLVM_BIN / "llvm-objdump"
    if not (mc.exists() and objdump.exists()):
        return None
    with tempfile.TemporaryDirectory() as d:
        s, o = os.path.join(d, "p.s"), os.path.join(d, "p.o")
        with open(s, "w") as f:
            f.write(".text\n")
            for i in range(0, len(raw), 8):
                f.write(".byte " + ",".join(str(b) for b in raw[i:i + 8]) + "\n")
        subprocess.run([str(mc), "-triple=bpfel", "-filetype=obj", s, "-o", o], check=True)
        t = time.perf_counter()
        subprocess.run([str(objdump), "-d", "--no-show-raw-insn", o], check=True,
                       stdout=subprocess.DEVNULL)
        return time.perf_counter() - t


def main() -> int:
    from ebpf.isa import assemble, decode, disassemble, encode

    raw = program()
    results: dict[str, float | int | None] = {"slots": len(raw) // 8}
    t = time.perf_counter()
    insns = decode(raw)
    results["decode_s"] = time.perf_counter() - t
    results["instructions"] = len(insns)
    t = time.perf_counter()
    again = encode(insns)
    results["encode_s"] = time.perf_counter() - t
    t = time.perf_counter()
    text = disassemble(insns)
    results["disassemble_s"] = time.perf_counter() - t
    t = time.perf_counter()
    back = assemble(text)
    results["assemble_s"] = time.perf_counter() - t
    results["llvm_objdump_s"] = objdump_seconds(raw)
    ok = again == raw and encode(back) == raw
    results["round_trip_ok"] = ok
    if "--json" in sys.argv[1:]:
        print(json.dumps(results))
    else:
        print(f"ISA codec on {results['instructions']} instructions ({results['slots']} slots):")
        for key in ("decode_s", "encode_s", "disassemble_s", "assemble_s", "llvm_objdump_s"):
            value = results[key]
            shown = "n/a (LLVM 19 not installed)" if value is None else f"{value * 1000:8.1f} ms"
            print(f"  {key[:-2]:<14} {shown}")
        print(f"  round trip     {'exact' if ok else 'MISMATCH'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
