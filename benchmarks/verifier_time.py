#!/usr/bin/env python3
"""Verification time: our verifier (``ebpf.verify``) against the kernel's own
("verification time N usec" of its log) for every program the test suite and
the examples build, as a ratio per program in one run; median and worst.

Needs root for the kernel side (without it, only our times are printed).

    python benchmarks/verifier_time.py [--json] [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _objects(out: Path) -> list[Path]:
    import ebpf.toolchain

    srcs = sorted(ROOT.glob("tests/**/progs/*.c")) + sorted(ROOT.glob("examples/*/*.bpf.c"))

    def build(src: Path) -> Path | None:
        dst = out / (str(src.relative_to(ROOT)).replace("/", "__") + ".o")
        try:
            ebpf.toolchain.compile(src, dst)
        except Exception as e:  # noqa: BLE001 - a benchmark reports and goes on
            print(f"  {src}: not compiled ({e})", file=sys.stderr)
            return None
        return dst

    with ThreadPoolExecutor(max_workers=4) as pool:
        return [p for p in pool.map(build, srcs) if p is not None]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--rounds", type=int, default=3, help="our timing: best of N")
    args = ap.parse_args()

    from ebpf.spec import ObjectSpec
    from ebpf.verifier import verify_program

    kernel = True
    try:
        from ebpf.backend import get_backend

        kernel = get_backend("kernel").usable()
    except Exception:  # noqa: BLE001
        kernel = False
    if kernel:
        from ebpf.verifier.compare import kernel_verdict

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for obj in _objects(Path(tmp)):
            spec = ObjectSpec.from_file(obj)
            for name, ps in spec.programs.items():
                best = None
                for _ in range(max(args.rounds, 1)):
                    res = verify_program(ps, spec.maps, log_level=0)
                    t = res.verification_time_ns / 1000
                    best = t if best is None else min(best, t)
                row = {"object": obj.stem, "program": name, "ours_us": round(best or 0, 1),
                       "ours_accepted": res.accepted, "processed": res.processed_insns}
                if kernel:
                    kv = kernel_verdict(spec, name)
                    row["kernel_us"] = kv.verification_time_us
                    row["kernel_accepted"] = kv.accepted
                    row["kernel_processed"] = kv.processed_insns
                    if kv.verification_time_us:
                        row["ratio"] = round((best or 0) / max(kv.verification_time_us, 1), 1)
                rows.append(row)
    ratios = [r["ratio"] for r in rows if "ratio" in r and r["ours_accepted"]
              and r.get("kernel_accepted")]
    summary = {"programs": len(rows), "compared": len(ratios)}
    if ratios:
        summary.update(median_ratio=statistics.median(ratios), worst_ratio=max(ratios),
                       best_ratio=min(ratios))
        worst = max((r for r in rows if r.get("ratio") in ratios), key=lambda r: r["ratio"])
        summary["worst_program"] = f"{worst['object']}:{worst['program']}"
    if args.json:
        json.dump({"rows": rows, "summary": summary}, sys.stdout, indent=2)
        print()
        return 0
    print("verifier time: ours vs the kernel's reported verification time")
    print(f"{'program':50} {'ours us':>10} {'kernel us':>10} {'ratio':>7} {'insns':>7}")
    for r in rows:
        print(f"{(r['object'][:28] + ':' + r['program'])[:50]:50} {r['ours_us']:>10} "
              f"{r.get('kernel_us') or '-':>10} {r.get('ratio', '-'):>7} {r['processed']:>7}")
    print("summary:", json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
