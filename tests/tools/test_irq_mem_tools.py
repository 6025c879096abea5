"""hardirqs (disk interrupts from O_DIRECT writes), softirqs (loopback TCP in a private
network namespace), drsnoop (a memory cgroup at its limit)."""

from __future__ import annotations

import mmap
import os
import re
from pathlib import Path

import pytest

from .test_tcp_tools import _session
from .workloads import go, memory_cgroup, python_child

pytestmark = pytest.mark.kernel


def interrupts() -> dict[str, int]:
    """Handler name -> interrupts so far, summed over CPUs (/proc/interrupts)."""
    out = {}
    lines = Path("/proc/interrupts").read_text().splitlines()
    ncpu = len(lines[0].split())
    for ln in lines[1:]:
        parts = ln.split()
        if not parts[0].rstrip(":").isdigit():
            continue
        out[parts[-1]] = sum(int(x) for x in parts[1:1 + ncpu])
    return out


def softirqs() -> dict[str, int]:
    out = {}
    for ln in Path("/proc/softirqs").read_text().splitlines()[1:]:
        name, *counts = ln.split()
        out[name.rstrip(":").lower()] = sum(int(c) for c in counts)
    return out


def disk_writes(path: Path, n: int = 20) -> None:
    buf = mmap.mmap(-1, 4096)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_DIRECT, 0o600)
    try:
        for i in range(n):
            os.pwritev(fd, [buf], i * 4096)
            os.fsync(fd)
    finally:
        os.close(fd)


def test_hardirqs_counts_match_proc_interrupts(run_tool, tmp_path):
    before = interrupts()
    r = run_tool("hardirqs", "-C", "-j", "--duration", "0.2",
                 workload=lambda: disk_writes(tmp_path / "f"))
    after = interrupts()
    seen = {x["hardirq"]: x["count"] for x in r.records}
    assert seen, "no interrupt handled while writing to disk"
    for name, n in seen.items():  # we counted no more than the kernel did in a wider window
        assert 0 < n <= after[name] - before[name], (name, n, before[name], after[name])
    busiest = max(seen, key=seen.get)
    assert after[busiest] - before[busiest] >= 20 // 4  # the disk, interrupting for our I/O
    r = run_tool("hardirqs", "--duration", "0.2", workload=lambda: disk_writes(tmp_path / "g"))
    assert ["HARDIRQ", "TOTAL_usecs"] in [ln.split() for ln in r.lines]
    r = run_tool("hardirqs", "-d", "--duration", "0.2",
                 workload=lambda: disk_writes(tmp_path / "h"))
    assert re.search(r"^hardirq = \S+", r.out, re.M)
    assert "usecs               : count    distribution" in r.out


def test_softirqs_counts_match_proc_softirqs(run_tool):
    before = softirqs()
    child, workload = _session()
    r = run_tool("softirqs", "-C", "-j", "--duration", "0.2", workload=workload)
    after = softirqs()
    seen = {x["softirq"]: x["count"] for x in r.records}
    assert seen.get("net_rx", 0) >= 1  # loopback delivers through the NET_RX softirq
    for name, n in seen.items():
        assert 0 < n <= after[name] - before[name], (name, n)
    r = run_tool("softirqs", "--duration", "0.2")
    assert ["SOFTIRQ", "TOTAL_usecs"] in [ln.split() for ln in r.lines]


def test_drsnoop_memory_cgroup_reclaim(run_tool, tmp_path):
    big = tmp_path / "big"
    with memory_cgroup(32 << 20) as procs:
        child = python_child(
            f"open({str(procs)!r}, 'w').write(str(os.getpid()))\n"
            f"with open({str(big)!r}, 'wb') as f:\n"
            "    for _ in range(96):\n        f.write(b'z' * (1 << 20))\n")
        r = run_tool("drsnoop", "-p", str(child.pid), "-j", "--duration", "0.3",
                     workload=lambda: go(child))
    assert child.returncode == 0, child.err
    assert r.records and {x["pid"] for x in r.records} == {child.pid}
    assert {x["kind"] for x in r.records} == {"memcg"}
    assert sum(x["pages"] for x in r.records) > 0 and all(x["lat_ms"] >= 0 for x in r.records)
