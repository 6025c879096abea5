"""bpf_trace_printk output through trace_pipe: TracePipe, trace_lines, `ebpf trace`."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from contextlib import redirect_stdout

import pytest
from attach_raw import load, printk, run_prog

import ebpf
from ebpf.trace import TracePipe, trace_lines
from ebpf.uapi import ProgramType

pytestmark = pytest.mark.kernel


def _wait_for(tp: TracePipe, marker: str, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for ev in tp.read(timeout=deadline - time.monotonic()):
            if marker in ev.message:
                return ev
    return None


def test_trace_pipe_reads_printk():
    marker = f"tp{os.getpid() % 100000}"
    p = load(printk(marker.encode()), ProgramType.XDP, name="printk")
    try:
        with TracePipe() as tp:
            tp.read(0)  # drop whatever was pending
            t0 = time.monotonic()
            tp.read(timeout=0.05)  # returns after the timeout, whatever others print
            assert time.monotonic() - t0 < 10  # (returns at all: no timing on a busy machine)
            run_prog(p)
            ev = _wait_for(tp, marker)
        assert ev is not None
        assert ev.pid == threading.get_native_id() or ev.pid == os.getpid()
        assert ev.message == f"{marker} 42"
        assert ev.function == "bpf_trace_printk"
        assert ev.cpu >= 0 and ev.timestamp > 0
    finally:
        p.close()


def test_trace_lines_stops_after_timeout():
    t0 = time.monotonic()
    list(trace_lines(timeout=0.2))
    assert 0.15 < time.monotonic() - t0 < 20  # waited its timeout, then stopped


def test_cli_trace_json():
    from ebpf.cli import main

    marker = f"cli{os.getpid() % 100000}"
    p = load(printk(marker.encode()), ProgramType.XDP, name="printk")
    done = threading.Event()

    def keep_printing():  # until the CLI stops: it starts reading at a moment of its own
        while not done.wait(0.1):
            run_prog(p)
    try:
        printer = threading.Thread(target=keep_printing)
        printer.start()
        buf = io.StringIO()
        try:
            with redirect_stdout(buf):
                rc = main(["trace", "--duration", "2.0", "--json"])
        finally:
            done.set()
            printer.join()
        assert rc == 0
        events = [json.loads(line) for line in buf.getvalue().splitlines()]
        mine = [e for e in events if marker in e["message"]]
        assert mine and mine[0]["message"] == f"{marker} 42"
    finally:
        p.close()


def test_unprivileged_readers_get_privilege_errors():
    """Without root, tracefs readers fail with a PrivilegeError naming the file."""
    import subprocess
    import sys

    from ebpf.kernel.tracefs import tracefs_path

    tracefs_path()  # mounted (by root) first, as a system would have it
    code = (
        "import os, ebpf, ebpf.trace, ebpf.kernel.tracefs as t\n"
        "os.setegid(65534); os.seteuid(65534)\n"
        "for f in (lambda: ebpf.trace.TracePipe(), lambda: t.tracepoint_id('sched', 'sched_switch')):\n"
        "    try:\n"
        "        f(); print('no error')\n"
        "    except ebpf.PrivilegeError as e:\n"
        "        print('PrivilegeError', e.capability, e.errno)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["PrivilegeError CAP_SYS_ADMIN 13"] * 2


def test_mount_fs_mounts_tracefs_and_bpffs(tmp_path):
    """What tracefs_path()/ensure_bpffs() do when nothing is mounted, on scratch
    directories (a second tracefs/bpffs instance) that are unmounted again."""
    import ctypes

    from ebpf._internal.libc import libc as _libc
    from ebpf.kernel import tracefs

    libc = _libc()
    for fstype, source, probe in (("tracefs", "nodev", "events"), ("bpf", "bpf", None)):
        target = tmp_path / fstype
        tracefs.mount_fs(fstype, str(target), source=source)
        try:
            assert tracefs._mounts().get(str(target)) == fstype
            if probe:
                assert (target / probe).is_dir()
            if fstype == "bpf":
                assert tracefs.ensure_bpffs(str(target)) == str(target)
        finally:
            assert libc.umount2(str(target).encode(), 0) == 0, ctypes.get_errno()
    with pytest.raises(ebpf.SystemCallError, match="mounting nosuchfs"):
        tracefs.mount_fs("nosuchfs", str(tmp_path / "x"))


def test_two_readers_each_see_every_line():
    """Another run reading bpf_printk output at the same time takes nothing from us."""
    marker = f"two{os.getpid() % 100000}"
    p = load(printk(marker.encode()), ProgramType.XDP, name="printk2")
    try:
        with TracePipe() as a, TracePipe() as b:
            assert a.path != b.path  # each its own tracefs instance
            run_prog(p)
            assert _wait_for(a, marker) is not None
            assert _wait_for(b, marker) is not None
        assert not os.path.exists(os.path.dirname(a.path))  # instances removed on close
    finally:
        p.close()
