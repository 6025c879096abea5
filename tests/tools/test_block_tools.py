"""biolatency, biosnoop, biotop against O_DIRECT I/O on a loop device of the test's own."""

from __future__ import annotations

import os
import re

import pytest

from .workloads import direct_io, loop_device

pytestmark = pytest.mark.kernel
READS, WRITES = 12, 5


@pytest.fixture
def disk(tmp_path):
    with loop_device(tmp_path) as name:
        direct_io(name, 1, 0)  # the first I/O after set-up can come with extra requests
        yield name


def test_biolatency(run_tool, disk):
    r = run_tool("biolatency", "-d", disk, "-j", "--duration", "0.3",
                 workload=lambda: direct_io(disk, READS, WRITES))
    (h,) = r.records
    assert h["unit"] == "usecs" and h["total"] == READS + WRITES
    r = run_tool("biolatency", "-d", disk, "-F", "-j", "--duration", "0.3",
                 workload=lambda: direct_io(disk, READS, WRITES))
    by_op = {}
    for rec in r.records:
        op = rec["flags"].split("-")[-1]
        by_op[op] = by_op.get(op, 0) + rec["total"]
    assert by_op == {"Read": READS, "Write": WRITES}
    r = run_tool("biolatency", "-D", "-d", disk, "--duration", "0.3",
                 workload=lambda: direct_io(disk, READS, WRITES))
    assert f"disk = {disk}" in r.out and "usecs               : count    distribution" in r.out
    counts = [int(m) for m in re.findall(r"-> \d+\s+: (\d+)", r.out)]
    assert sum(counts) == READS + WRITES


def test_biosnoop(run_tool, disk):
    r = run_tool("biosnoop", "-d", disk, "-j", "--duration", "0.3",
                 workload=lambda: direct_io(disk, READS, WRITES))
    ops = [(x["rwflag"], x["bytes"], x["sector"]) for x in r.records]
    assert ops == [("R", 4096, i * 16) for i in range(READS)] + \
        [("W", 4096, (64 + i * 2) * 8) for i in range(WRITES)]
    assert {x["disk"] for x in r.records} == {disk}
    assert {x["pid"] for x in r.records} == {os.getpid()}
    r = run_tool("biosnoop", "-d", disk, "--duration", "0.3",
                 workload=lambda: direct_io(disk, 2, 0))
    assert r.lines[0].split() == ["TIME(s)", "COMM", "PID", "DISK", "T", "SECTOR", "BYTES",
                                  "LAT(ms)"]
    assert [ln.split()[3:7] for ln in r.lines[1:]] == [[disk, "R", "0", "4096"],
                                                      [disk, "R", "16", "4096"]]


def test_biotop(run_tool, disk):
    r = run_tool("biotop", "-C", "-p", str(os.getpid()), "-j", "0.4", "1",
                 workload=lambda: direct_io(disk, READS, WRITES))
    ours = {x["rwflag"]: x for x in r.records if x["disk"] == disk}
    assert ours["R"]["io"] == READS and ours["R"]["bytes"] == READS * 4096
    assert ours["W"]["io"] == WRITES and ours["W"]["bytes"] == WRITES * 4096
