"""Tail-call chains stop after 33 tail calls as in the kernel; bpf_printk goes to
the run's trace and the ``ebpf.vm.trace`` logger; perf event output reaches
ebpf.PerfBuffer with the kernel's record layout."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import ebpf
from ebpf.vm.helpers import TRACE

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "tail_trace.c")


def chain(obj):
    obj.maps["chain"][0] = obj.programs["hop"]
    r = obj.programs["hop"].test_run(bytes(14))
    return r.retval, obj.variables["hops"].value


def events(obj):
    pb = ebpf.PerfBuffer(obj.maps["events"])
    try:
        obj.programs["printer"].test_run(bytes(20))
        recs = pb.poll(timeout=1.0)
    finally:
        pb.close()
    # bytes 13..15 are struct padding the program never wrote (stack garbage)
    return [(len(r), r[:13]) for r in recs]


@pytest.mark.parametrize("jit", [True, False])
def test_tail_call_limit_in_vm(obj_path, jit):
    with ebpf.load(obj_path, backend="vm", jit=jit) as obj:
        assert chain(obj) == (34, 34)  # the first run plus MAX_TAIL_CALL_CNT = 33


def test_printk_and_perf_events_in_vm(obj_path, caplog):
    with ebpf.load(obj_path, backend="vm") as obj:
        with caplog.at_level(logging.INFO, logger="ebpf.vm.trace"):
            r = obj.programs["printer"].test_run(bytes(20))
        assert r.trace == ["len=20 hex=ff s=hi!"]
        assert "printer: len=20 hex=ff s=hi!" in caplog.text
        assert TRACE[-1] == "printer: len=20 hex=ff s=hi!"
        assert events(obj) == [(20, b"\x07\0\0\0\x14\0\0\0hi!\0\0")]


@pytest.mark.kernel
def test_same_as_kernel(obj_path):
    results = {}
    for backend in ("kernel", "vm"):
        with ebpf.load(obj_path, backend=backend) as obj:
            results[backend] = (chain(obj), events(obj))
    assert results["vm"] == results["kernel"]
