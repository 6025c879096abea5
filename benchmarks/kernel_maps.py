#!/usr/bin/env python3
"""Map operations per second on kernel maps: one bpf(2) call per element
(``m[k] = v``, ``m[k]``, ``del m[k]``) against the batch commands
(``update_batch``, ``lookup_batch``, ``delete_batch``), as ratios in one run.

    python benchmarks/kernel_maps.py [--entries N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time


def bench(n: int) -> dict[str, float]:
    import ebpf

    spec = ebpf.MapSpec(name="bench", type=ebpf.MapType.HASH, key_size=4, value_size=8,
                        max_entries=n)
    res: dict[str, float] = {}
    with ebpf.Map.create(spec, backend="kernel") as m:
        raw = [(k.to_bytes(4, "little"), (k * 7).to_bytes(8, "little")) for k in range(n)]
        t0 = time.perf_counter()
        for k, v in raw:
            m.update_bytes(k, v)
        res["single_update_ops"] = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for k, _ in raw:
            m.lookup_bytes(k)
        res["single_lookup_ops"] = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        for k, _ in raw:
            m.delete_bytes(k)
        res["single_delete_ops"] = n / (time.perf_counter() - t0)

        items = {k: k * 7 for k in range(n)}
        t0 = time.perf_counter()
        m.update_batch(items)
        res["batch_update_ops"] = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = m.lookup_batch_bytes()
        res["batch_lookup_ops"] = n / (time.perf_counter() - t0)
        assert len(got) == n, f"batch lookup returned {len(got)} of {n}"
        t0 = time.perf_counter()
        m.delete_batch(range(n))
        res["batch_delete_ops"] = n / (time.perf_counter() - t0)
    for op in ("update", "lookup", "delete"):
        res[f"{op}_batch_over_single"] = res[f"batch_{op}_ops"] / res[f"single_{op}_ops"]
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=50000)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("kernel_maps: needs root for bpf(2)", file=sys.stderr)
        return 1
    res = bench(args.entries)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"hash map, {args.entries} entries (4-byte keys, 8-byte values)")
    print(f"{'op':<8} {'single ops/s':>14} {'batch ops/s':>14} {'batch/single':>13}")
    for op in ("update", "lookup", "delete"):
        print(f"{op:<8} {res[f'single_{op}_ops']:14,.0f} {res[f'batch_{op}_ops']:14,.0f} "
              f"{res[f'{op}_batch_over_single']:12.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
