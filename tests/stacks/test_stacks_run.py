"""`ebpf run` shows stack-trace maps symbolized (joined with the map counting by
stack id) and writes a flame graph of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from stack_workloads import Workload

pytestmark = pytest.mark.kernel

PROG = Path(__file__).with_name("progs") / "sleepstacks.bpf.c"


def _run(args: list[str], w: Workload, delay: float = 3.0) -> subprocess.CompletedProcess:
    # the workload starts once the program is attached (ebpf run reports that on stderr)
    p = subprocess.Popen([sys.executable, "-m", "ebpf", "run", str(PROG),
                          "--const", f"target_pid={w.pid}", *args],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stderr is not None
    err = []
    for line in p.stderr:
        err.append(line)
        if "attached" in line:
            w.go()
            break
    out, rest = p.communicate(timeout=120)
    return subprocess.CompletedProcess(p.args, p.returncode, out, "".join(err) + rest)


def test_run_shows_symbolized_stacks_and_writes_a_flame_graph(workloads, tmp_path):
    html = tmp_path / "sleeps.html"
    with Workload(workloads["sleeper"], "50") as w:  # 50 sleeps of 10 ms, then exits
        r = _run(["--duration", "6", "--plain", "--flamegraph", str(html)], w)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "stacks by sleeps: 1 distinct, total 50" in out, out
    lines = [ln.strip() for ln in out.splitlines()]
    i = lines.index("do_syscall_64")
    assert any(ln.startswith("waiter [") for ln in lines[i:]), out
    assert any(ln.startswith("main [") for ln in lines[i:]), out
    assert "KERN_STACK_ID" not in out  # the raw ids are replaced by the stacks
    assert "flame graph of 50 count written" in r.stderr
    page = html.read_text()
    assert '"n":"waiter"' in page and '"n":"do_syscall_64_[k]"' in page


def test_run_json_lines_carry_stacks(workloads):
    with Workload(workloads["sleeper"], "20") as w:
        r = _run(["--duration", "5", "--json"], w)
    assert r.returncode == 0, r.stderr
    recs = [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith("{")]
    stacks = [x for x in recs if x.get("type") == "stacks"]
    assert stacks and stacks[-1]["map"] == "sleeps"
    (only,) = stacks[-1]["stacks"]
    assert only["value"] == 20 and only["comm"] == "sleeper"
    names = [f["name"] for f in only["frames"]]
    assert "waiter" in names and names.index("do_syscall_64") < names.index("waiter")
