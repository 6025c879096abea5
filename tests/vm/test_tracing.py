"""Tracing programs in the runtime: a libbpf-bootstrap style exec tracer fed
through a fired tracepoint event (CO-RE reads of the current task give the
calling process's pid/ppid/comm), and a BPF_KPROBE program run on pt_regs."""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

import pytest

import ebpf
from ebpf.vm import hooks
from ebpf.vm.contexts import pt_regs

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def path(bpf_compile):
    return bpf_compile(PROGS / "exec_events.c")


def exec_record(filename: bytes) -> bytes:
    """trace_event_raw_sched_process_exec: common header, __data_loc, pid, old_pid."""
    data = filename + b"\0"
    return struct.pack("<QIii", 0, (len(data) << 16) | 20, 1, 1) + data


def test_exec_tracer(path, caplog):
    with ebpf.load(path, backend="vm") as obj:
        links = obj.attach()
        assert sorted(link.description for link in links) == [
            "kprobe/do_unlinkat", "tracepoint/sched/sched_process_exec"]
        rb = ebpf.RingBuffer(obj.maps["rb"])
        with caplog.at_level(logging.INFO, logger="ebpf.vm.trace"):
            assert hooks.fire("tracepoint/sched/sched_process_exec",
                              exec_record(b"/usr/bin/true")) == [0]
        records = rb.poll(timeout=1.0)
        rb.close()
    assert len(records) == 1
    pid, ppid, code = struct.unpack_from("<iiI", records[0])
    comm = records[0][12:28].rstrip(b"\0")
    filename = records[0][28:].split(b"\0")[0]
    assert (pid, ppid, code) == (os.getpid(), os.getppid(), 0)
    assert comm == Path("/proc/self/comm").read_bytes().strip()[:15]
    assert filename == b"/usr/bin/true"
    assert "exec /usr/bin/true" in caplog.text


def test_kprobe_on_pt_regs(path, caplog):
    with ebpf.load(path, backend="vm") as obj:
        with caplog.at_level(logging.INFO, logger="ebpf.vm.trace"):
            assert obj.programs["do_unlinkat"].run(pt_regs(di=5, si=0)) == 0
    assert f"pid = {os.getpid()}, dfd = 5, filename = " in caplog.text


@pytest.mark.parametrize("jit", [True, False])
def test_btf_pointer_loads_cannot_fault(bpf_compile, caplog, jit):
    path = bpf_compile(PROGS / "btf_tracing.c")
    with ebpf.load(path, backend="vm", jit=jit) as obj:
        with caplog.at_level(logging.INFO, logger="ebpf.vm.trace"):
            assert obj.programs["do_unlinkat_entry"].run([7, 0]) == 0  # name is NULL
        assert f"pid = {os.getpid()}, dfd = 7, filename = " in caplog.text
        assert obj.programs["on_switch"].run([0, 0x1000, 0]) == 0
        assert obj.programs["check_open"].run([0, 13]) == 13
        assert obj.variables["seen_flags"].value == 0
