"""funccount, funclatency (and memleak, gethostlatency, bashreadline) against a small
C program and processes the tests start."""

from __future__ import annotations

import subprocess

import pytest

from .workloads import build_c

pytestmark = pytest.mark.kernel

PROGRAM = r"""
#include <stdlib.h>
#include <unistd.h>

__attribute__((noinline)) int work_a(int x) { return x + 1; }
__attribute__((noinline)) int work_b(int x) { usleep(3000); return x * 2; }
__attribute__((noinline)) void *grab(size_t n) { return malloc(n); }

int main(void)
{
	char c;
	void *p[7];
	int s = 0, i;

	if (read(0, &c, 1) != 1)	/* wait until the tool is attached */
		return 2;
	for (i = 0; i < 17; i++)
		s += work_a(i);
	for (i = 0; i < 5; i++)
		s += work_b(i);
	for (i = 0; i < 7; i++)
		p[i] = grab(4242);
	for (i = 0; i < 3; i++)
		free(p[i]);
	if (read(0, &c, 1) != 1)	/* keep the 4 others until told to exit */
		return 3;
	return s == 12345;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    return build_c(tmp_path_factory.mktemp("uprobe"), "workprog", PROGRAM)


class Run:
    """The program, started and waiting; ``step()`` lets it do its work."""

    def __init__(self, exe):
        self.p = subprocess.Popen([str(exe)], stdin=subprocess.PIPE)
        self.pid = self.p.pid

    def step(self):
        self.p.stdin.write(b"g")
        self.p.stdin.flush()

    def finish(self):
        self.p.stdin.write(b"x")
        self.p.stdin.close()
        return self.p.wait(timeout=30)


def test_funccount_uprobe_glob_exact(run_tool, program):
    run = Run(program)

    def workload():
        run.step()
        run.finish()

    r = run_tool("funccount", "-p", str(run.pid), "-j", "-d", "0.2", f"{program}:work_*",
                 workload=workload)
    assert {x["func"]: x["count"] for x in r.records} == {"work_a": 17, "work_b": 5}
    run = Run(program)
    r = run_tool("funccount", "-p", str(run.pid), "-d", "0.2", f"{program}:grab",
                 workload=lambda: (run.step(), run.finish()))
    assert ["FUNC", "COUNT"] in [ln.split() for ln in r.lines]
    assert ["grab", "7"] in [ln.split() for ln in r.lines]


def test_funccount_tracepoints(run_tool, program):
    run = Run(program)
    r = run_tool("funccount", "-p", str(run.pid), "-j", "-d", "0.2",
                 "t:syscalls:sys_enter_*sleep",
                 workload=lambda: (run.step(), run.finish()))
    got = {x["func"]: x["count"] for x in r.records}
    assert got == {"t:syscalls:sys_enter_clock_nanosleep": 5}  # usleep() x 5


def test_funccount_kernel_function_says_why_not(run_tool):
    from ebpf.errors import NotSupportedError

    with pytest.raises(NotSupportedError, match="no kprobes"):
        run_tool("funccount", "vfs_read")


def test_funclatency(run_tool, program):
    run = Run(program)
    r = run_tool("funclatency", "-u", "-p", str(run.pid), "-j", "-d", "0.2",
                 f"{program}:work_b", workload=lambda: (run.step(), run.finish()))
    (h,) = r.records
    assert h["unit"] == "usecs" and h["total"] == 5
    assert sum(b["count"] for b in h["buckets"] if b["low"] >= 2048) == 5  # >= 3 ms each
    run = Run(program)
    r = run_tool("funclatency", "-p", str(run.pid), "-d", "0.2", f"{program}:work_a",
                 workload=lambda: (run.step(), run.finish()))
    assert "nsecs               : count    distribution" in r.out
    assert "total: 17 calls" in r.out


def test_memleak_outstanding_allocations_by_stack(run_tool, program):
    import time

    run = Run(program)

    def workload():
        run.step()
        time.sleep(0.2)  # the program has allocated 7 and freed 3

    try:
        r = run_tool("memleak", "-p", str(run.pid), "-o", "0", "-j", "0.3", "1",
                     workload=workload)
        txt = run_tool("memleak", "-p", str(run.pid), "-o", "0", "-a", "0.2", "1")
    finally:
        run.finish()
    (rec,) = r.records
    assert rec["bytes"] == 4 * 4242 and rec["allocations"] == 4
    names = [f.split("+")[0] for f in rec["stack"]]
    assert names[:2] == ["grab", "main"], rec["stack"]
    assert "Top 10 stacks with outstanding allocations:" in txt.out
    assert txt.out.count("size = 4242") == 0  # nothing new since attaching again


def test_gethostlatency(run_tool):
    from .workloads import go, python_child

    child = python_child("import socket\nsocket.getaddrinfo('localhost', 80)\n"
                         "socket.getaddrinfo('127.0.0.1', None)\n")
    r = run_tool("gethostlatency", "-p", str(child.pid), "-j", "--duration", "0.3",
                 workload=lambda: go(child))
    assert child.returncode == 0, child.err
    assert [x["host"] for x in r.records] == ["localhost", "127.0.0.1"]
    assert all(x["pid"] == child.pid and x["lat_ms"] >= 0 for x in r.records)


def test_bashreadline(run_tool, tmp_path):
    import os
    import pty
    import shutil
    import time
    import uuid

    marker = "echo marker-" + uuid.uuid4().hex[:8]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "TERM": "dumb"}

    def workload():
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(shutil.which("bash"), ["bash", "--norc", "--noprofile", "-i"], env)
        try:
            time.sleep(0.5)
            os.write(fd, (marker + "\n").encode())
            time.sleep(0.3)
            os.write(fd, b"exit\n")
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    if not os.read(fd, 4096):
                        break
                except OSError:
                    break
        finally:
            os.waitpid(pid, 0)
            os.close(fd)
        workload.pid = pid

    r = run_tool("bashreadline", "-j", "--duration", "0.3", workload=workload)
    ours = [x["command"] for x in r.records if x["pid"] == workload.pid]
    assert ours == [marker, "exit"]
    assert r.lines[0].split() == ["TIME", "PID", "COMMAND"] or r.records


def test_trace_uprobes_and_return_values(run_tool, program):
    run = Run(program)
    r = run_tool("trace", "-p", str(run.pid), "-j", "--duration", "0.3",
                 f'{program}:work_a "x=%d", arg1', f'r:{program}:work_b "ret=%d", retval',
                 workload=lambda: (run.step(), run.finish()))
    msgs = [(x["func"], x["message"]) for x in r.records]
    assert [m for f, m in msgs if f == "work_a"] == [f"x={i}" for i in range(17)]
    assert [m for f, m in msgs if f == "work_b"] == [f"ret={2 * i}" for i in range(5)]
    assert {x["pid"] for x in r.records} == {run.pid}


def test_trace_tracepoints_with_string_fields(run_tool, tmp_path):
    import os
    import subprocess

    target = tmp_path / "traced-file"
    target.write_text("x")
    kids = []

    def workload():
        open(target).close()
        kids.append(subprocess.Popen(["/bin/true"]))
        kids[0].wait()

    r = run_tool("trace", "--duration", "0.3",
                 't:syscalls:sys_enter_openat "open %s", args->filename',
                 't:sched:sched_process_exec "exec %s pid=%d", args->filename, args->pid',
                 workload=workload)
    lines = r.lines
    assert lines[0].split() == ["PID", "TID", "COMM", "FUNC", "-"]
    mine = [ln.split(None, 4) for ln in lines[1:]]
    assert [os.getpid(), "sys_enter_openat", f"open {target}"] in \
        [[int(m[0]), m[3], m[4]] for m in mine]
    assert [kids[0].pid, "sched_process_exec", f"exec /bin/true pid={kids[0].pid}"] in \
        [[int(m[0]), m[3], m[4]] for m in mine]


def test_trace_bad_probes_are_clear_errors(run_tool):
    from ebpf.errors import Error

    with pytest.raises(Error, match="2 conversions but 1 arguments"):
        run_tool("trace", 't:syscalls:sys_enter_openat "%s %d", args->filename')
    with pytest.raises(Error, match="not a field of tracepoint syscalls/sys_enter_openat"):
        run_tool("trace", 't:syscalls:sys_enter_openat "%d", args->nope')
    with pytest.raises(Error, match="retval is only available at a return probe"):
        run_tool("trace", 'c:malloc "%d", retval')
