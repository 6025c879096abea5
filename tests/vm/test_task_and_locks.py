"""Identity helpers report the calling task (as in the kernel's test_run), and
bpf_spin_lock serialises programs running on several threads."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import ebpf

from .test_helpers import kernel_raw_tp_run

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def path(bpf_compile):
    return bpf_compile(PROGS / "task.c")


def ident(obj, run):
    run(obj.programs["who"])
    v = obj.variables["ident"].value
    return v.pid_tgid, v.uid_gid, v.comm.rstrip(b"\0"), v.cpu, v.numa


def test_identity_in_vm(path):
    with ebpf.load(path, backend="vm") as obj:
        pid_tgid, uid_gid, comm, cpu, numa = ident(obj, lambda p: p.run([0]))
    assert pid_tgid == (os.getpid() << 32) | threading.get_native_id()
    assert uid_gid == (os.getgid() << 32) | os.getuid()
    assert comm == Path("/proc/self/comm").read_bytes().strip()[:15]
    assert (cpu, numa) == (0, 0)


@pytest.mark.kernel
def test_identity_matches_kernel(path):
    old = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {0})
    try:
        with ebpf.load(path, backend="kernel") as obj:
            kernel = ident(obj, lambda p: kernel_raw_tp_run(p, [0]))
    finally:
        os.sched_setaffinity(0, old)
    with ebpf.load(path, backend="vm") as obj:
        assert ident(obj, lambda p: p.run([0])) == kernel


def test_spin_lock_across_threads(path):
    with ebpf.load(path, backend="vm") as obj:
        prog = obj.programs["count_locked"]

        def worker():
            for _ in range(200):
                prog.test_run(bytes(20))

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        v = obj.maps["locked"][0]
        assert (v.count, v.sum) == (800, 800 * 20)
