"""runqlat, cpudist, runqlen against processes of the test's own, pinned to CPU 0."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from .workloads import go, python_child

pytestmark = pytest.mark.kernel

SPIN = "import os, time\nos.sched_setaffinity(0, {0})\nend = time.time() + %s\nwhile time.time() < end: pass\n"


def spinners(n: int, seconds: float) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", SPIN % seconds]) for _ in range(n)]


def test_runqlat_counts_every_wakeup(run_tool):
    # the child counts its own context switches (blocking and preempted) from before
    # it waits for "go" to its last line; the tool is attached once it waits
    child = python_child(
        "for _ in range(50):\n    time.sleep(0.002)\n"
        "print(switches() - before)\n",
        prelude="import time\n"
                "def switches():\n"
                "    st = open('/proc/self/status').read()\n"
                "    return sum(int(st.split(f'{k}_ctxt_switches:')[1].split()[0])\n"
                "               for k in ('voluntary', 'nonvoluntary'))\n"
                "before = switches()\n",
        ready=True)
    r = run_tool("runqlat", "-p", str(child.pid), "-j", "--duration", "0.2",
                 workload=lambda: go(child))
    (h,) = r.records
    # one sample per return to a CPU: after each of the 50 sleeps and the read of
    # "go" at least; at most one per switch the child counted (other blocking, as a
    # page fault, and preemptions by other processes included) plus its exit path
    switches = int(child.out)
    assert switches >= 51
    assert 51 <= h["total"] <= switches + 3, (h, switches)
    r = run_tool("runqlat", "-P", "-p", str(child.pid), "--duration", "0.1")
    assert "pid =" not in r.out and "->" not in r.out  # the child is gone: nothing for it


def test_runqlat_sees_queueing_behind_spinners(run_tool):
    child = python_child("import os, time\nos.sched_setaffinity(0, {0})\n"
                         "for _ in range(20):\n    time.sleep(0.005)\n")

    def workload():
        spin = spinners(2, 1.0)
        go(child)
        for p in spin:
            p.wait()

    r = run_tool("runqlat", "-P", "-p", str(child.pid), "--duration", "0.2",
                 workload=workload)
    assert f"pid = {child.pid}" in r.out
    assert "     usecs               : count    distribution" in r.out
    counts = {int(lo): int(n) for lo, n in re.findall(r"(\d+) -> \d+\s+: (\d+)", r.out)}
    assert sum(counts.values()) >= 21
    # behind two spinners on one CPU, some wakeups wait at least a millisecond
    assert sum(n for lo, n in counts.items() if lo >= 1024) >= 1, r.out


def test_cpudist_on_and_off_cpu(run_tool):
    burst = ("import os, time\nos.sched_setaffinity(0, {1})\n"
             "for _ in range(10):\n    end = time.process_time() + 0.03\n"
             "    while time.process_time() < end: pass\n    time.sleep(0.01)\n")
    child = python_child(burst)
    r = run_tool("cpudist", "-p", str(child.pid), "-j", "--duration", "0.2",
                 workload=lambda: go(child))
    (h,) = r.records
    # ten 30 ms bursts: at least 300 ms on CPU, however preemption splits them; each
    # slice is at most its bucket's upper bound
    assert sum(b["high"] * b["count"] for b in h["buckets"]) >= 300_000, h
    assert sum(b["low"] * b["count"] for b in h["buckets"]) <= 5_000_000, h
    child = python_child(burst)
    r = run_tool("cpudist", "-O", "-p", str(child.pid), "-j", "--duration", "0.2",
                 workload=lambda: go(child))
    (h,) = r.records
    # ten 10 ms sleeps: at least ten off-CPU spells adding up to 100 ms
    assert h["total"] >= 10 and sum(b["high"] * b["count"] for b in h["buckets"]) >= 100_000


def test_runqlen_sees_the_queue_on_a_busy_cpu(run_tool):
    def workload():
        spin = spinners(3, 1.2)
        import time

        time.sleep(1.0)
        for p in spin:
            p.wait()

    r = run_tool("runqlen", "-C", "-j", "--duration", "0.1", workload=workload)
    cpu0 = next(x for x in r.records if x["cpu"] == 0)
    queued = sum(b["count"] for b in cpu0["buckets"] if b["low"] >= 2)
    # three spinners on CPU 0: two of them wait whenever one runs
    assert cpu0["total"] >= 50 and queued >= cpu0["total"] * 0.8, cpu0
    r = run_tool("runqlen", "-O", "--duration", "0.3")
    assert re.fullmatch(r"runqocc: \d+\.\d\d%", r.lines[-1])
