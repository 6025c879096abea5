#!/usr/bin/env python3
"""`ebpf export` under load: one metric with 10k series (a 10k-key map filled through
--prefill), scraped over HTTP by this script. Reports the scrape latency and the
exporter's CPU time per scrape (from /proc/PID/stat), the first scrape (every key
decoded) against later ones (decoded labels cached), and both against the baseline of
reading the same map's raw rows in this process (one batch lookup), in the same run.

    python benchmarks/export_scrape.py [--series N] [--scrapes N] [--backend kernel|vm] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

SOURCE = """
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
struct bench_key { __u32 pid; __u32 nr; };
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, %(entries)d);
	__type(key, struct bench_key);
	__type(value, __u64);
} bench_calls_total SEC(".maps");
SEC("tracepoint/syscalls/sys_enter_getppid")
int noop(void *ctx) { return 0; }
char LICENSE[] SEC("license") = "GPL";
"""

CONFIG = """
metrics:
  counters:
    - name: bench_calls_total
      help: benchmark series
      labels:
        - {name: pid, size: 4, decoders: [{name: uint}]}
        - {name: syscall, size: 4, decoders: [{name: uint}, {name: syscall}]}
"""


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _baseline(obj_path: Path, rows: list, backend: str, repeat: int) -> float:
    """Seconds to read the map's raw rows once, in-process (median of ``repeat``)."""
    import ebpf
    from ebpf.export.collect import read_rows

    with ebpf.load(obj_path, backend=backend) as obj:
        m = obj.maps["bench_calls_total"]
        for r in rows:
            m.update_bytes(r[0], r[1])
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            got = read_rows(m)
            times.append(time.perf_counter() - t0)
        assert len(got) == len(rows)
    return statistics.median(times)


def bench(series: int, scrapes: int, backend: str) -> dict[str, float]:
    import ebpf

    with tempfile.TemporaryDirectory(prefix="ebpf-bench-export-") as d:
        tmp = Path(d)
        (tmp / "bench.bpf.c").write_text(SOURCE % {"entries": series})
        (tmp / "bench.yaml").write_text(CONFIG)
        obj = ebpf.compile(tmp / "bench.bpf.c", tmp / "bench.bpf.o")
        keys = [(1000 + i // 100, i % 100) for i in range(series)]
        (tmp / "prefill.json").write_text(json.dumps({"bench": {"bench_calls_total": [
            {"key": [pid, nr], "value": i} for i, (pid, nr) in enumerate(keys)]}}))
        raw_rows = [(pid.to_bytes(4, "little") + nr.to_bytes(4, "little"),
                     i.to_bytes(8, "little")) for i, (pid, nr) in enumerate(keys)]
        baseline = _baseline(obj, raw_rows, backend, 5)

        port = _free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "ebpf", "export", str(tmp / "bench.yaml"), "--backend",
             backend, "--prefill", str(tmp / "prefill.json"), "--listen", f"127.0.0.1:{port}",
             "--max-series", "0"], stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            deadline = time.monotonic() + 300
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"exporter exited: {proc.stderr.read()}")
                try:
                    cpu0 = _cpu_seconds(proc.pid)
                    t0 = time.perf_counter()
                    first = _get(url)
                    first_s = time.perf_counter() - t0
                    first_cpu = _cpu_seconds(proc.pid) - cpu0
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            n = first.count(b"\nebpf_exporter_bench_calls_total{")
            assert n == series, f"first scrape has {n} series, expected {series}"
            lat = []
            cpu0 = _cpu_seconds(proc.pid)
            for _ in range(scrapes):
                t0 = time.perf_counter()
                body = _get(url)
                lat.append(time.perf_counter() - t0)
            cpu = (_cpu_seconds(proc.pid) - cpu0) / scrapes
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    med = statistics.median(lat)
    return {
        "series": series, "scrapes": scrapes, "bytes_per_scrape": len(body),
        "scrape_latency_ms_median": med * 1e3, "scrape_latency_ms_max": max(lat) * 1e3,
        "exporter_cpu_ms_per_scrape": cpu * 1e3, "first_scrape_ms": first_s * 1e3,
        "first_scrape_cpu_ms": first_cpu * 1e3,
        "us_per_series": med / series * 1e6,
        "baseline_raw_read_ms": baseline * 1e3,
        "scrape_over_raw_read": med / baseline,
        "first_over_warm_scrape": first_s / med,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--scrapes", type=int, default=20)
    ap.add_argument("--backend", choices=("kernel", "vm"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    backend = args.backend or ("kernel" if os.geteuid() == 0 else "vm")
    res = bench(args.series, args.scrapes, backend)
    res["backend"] = backend  # type: ignore[assignment]
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(f"ebpf export, {res['series']} series on the {backend} backend, "
              f"{res['scrapes']} scrapes ({res['bytes_per_scrape']} bytes each):")
        for k, v in res.items():
            if isinstance(v, float):
                print(f"  {k:28s} {v:10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
