"""Ring buffer accounting as the kernel does it: positions, discarded records
keeping their space until read, NO_WAKEUP, a full buffer; read through
ebpf.RingBuffer."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def path(bpf_compile):
    return bpf_compile(PROGS / "ringbuf.c")


def exercise(obj):
    rb = ebpf.RingBuffer(obj.maps["rb"])
    prog = obj.programs["rb_prog"]
    out = []
    try:
        for n in (20, 30):
            r = prog.test_run(bytes(n))
            out.append((r.retval, dict(obj.maps["out"].items())))
        out.append(rb.poll(timeout=1.0))
        r = prog.test_run(bytes(40))
        out.append((r.retval, dict(obj.maps["out"].items())))
        out.append(rb.poll(timeout=1.0))
    finally:
        rb.close()
    return out


def test_ringbuf_in_vm(path):
    with ebpf.load(path, backend="vm") as obj:
        res = exercise(obj)
    first = res[0][1]
    # 32 bytes discarded + 16 submitted: still counted until the reader passes them
    assert (first[0], first[1], first[2], first[3]) == (32 + 16, 4096, 0, 48)
    assert first[5] == 1  # 4000 bytes still fitted (and were discarded) ...
    assert res[1][0] == 0  # ... so the second run found the ring full: XDP_ABORTED
    assert res[2] == [b"\xef\xcd\xab\x00\x09", (20).to_bytes(8, "little")]
    third = res[3][1]
    assert (third[2], third[3]) == (4072, 4120)  # consumer and producer positions
    assert res[4] == [b"\xef\xcd\xab\x00\x09", (40).to_bytes(8, "little")]


@pytest.mark.kernel
def test_ringbuf_matches_kernel(path):
    out = {}
    for backend in ("kernel", "vm"):
        with ebpf.load(path, backend=backend) as obj:
            out[backend] = exercise(obj)
    assert out["vm"] == out["kernel"]
