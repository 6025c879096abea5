"""RingBuffer and PerfBuffer read the same program's events the same way on both
backends: the kernel (mmap rings) and the user-space runtime (_ring_consumer)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf
from ebpf.ringbuf import Poller

PROGS = Path(__file__).parent / "progs"


def _build(bpf_compile, backend: str):
    # The kernel loader sizes a perf event array without max_entries to the number
    # of CPUs (libbpf's convention); the runtime wants the size spelled out.
    src = PROGS / "emit_events.bpf.c"
    if backend == "kernel":
        return bpf_compile(src, name="emit_events")
    return bpf_compile("#define PERF_MAX_ENTRIES 8\n" + src.read_text(), name="emit_events_vm")


def _events(backend: str, bpf_compile) -> tuple[list, list]:
    obj_path = _build(bpf_compile, backend)
    with ebpf.load(obj_path, backend=backend) as obj:
        rb = ebpf.RingBuffer(obj.maps["rb"], decode="event")
        pb = ebpf.PerfBuffer(obj.maps["pb"], decode="struct event")
        prog = obj.programs["emit"]
        for size in (60, 61, 62):
            prog.test_run(b"\0" * size)
        ring = rb.poll(2.0)
        perf = pb.poll(2.0)
        while len(perf) < 3:
            more = pb.poll(1.0)
            if not more:
                break
            perf += more
        rb.close()
        pb.close()
    return ring, perf


def _check(ring, perf):
    assert [(e.len, e.seq, e.tag.rstrip(b"\0")) for e in ring] == \
        [(60, 0, b"ring"), (61, 1, b"ring"), (62, 2, b"ring")]
    assert sorted((e.len, e.seq, e.tag.rstrip(b"\0")) for e in perf) == \
        [(60, 0, b"perf"), (61, 1, b"perf"), (62, 2, b"perf")]


@pytest.mark.kernel
def test_events_on_the_kernel(bpf_compile):
    _check(*_events("kernel", bpf_compile))


def test_events_on_the_runtime(bpf_compile):
    _check(*_events("vm", bpf_compile))


def test_runtime_poller_callbacks_and_iteration(bpf_compile):
    obj_path = _build(bpf_compile, "vm")
    with ebpf.load(obj_path, backend="vm") as obj:
        seen = []
        with Poller() as poller:
            poller.add(obj.maps["rb"], seen.append, decode="event").add(obj.maps["pb"])
            obj.programs["emit"].test_run(b"\0" * 64)
            got = []
            for rec in poller.records(timeout=1.0):
                got.append(rec)
                if len(got) == 2:
                    break
        assert len(seen) == 1 and seen[0].len == 64
        assert any(isinstance(r, bytes) and r[:4] == (64).to_bytes(4, "little") for r in got)
