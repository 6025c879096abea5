"""Reading many ring-buffer records at once: RingBuffer.read_batch() and RecordBatch,
the kernel reader's one-size fast path, and read(limit)."""

from __future__ import annotations

import ctypes
import struct
from pathlib import Path

import pytest
from attach_raw import emit_record, load, run_prog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ebpf
from ebpf.recordbatch import RecordBatch
from ebpf.uapi import ProgramType


class Pair(ctypes.Structure):
    _fields_ = [("value", ctypes.c_uint64), ("zero", ctypes.c_uint64)]


def test_batch_of_records_from_bytes():
    b = RecordBatch.from_records([b"ab", b"cd", b"ef"])
    assert len(b) == 3 and b.record_size == 2 and b.stride == 2
    assert [bytes(r) for r in b] == [b"ab", b"cd", b"ef"] and b.tolist()[1] == b"cd"
    assert [bytes(r) for r in b[1:]] == [b"cd", b"ef"] and bytes(b[-1]) == b"ef"
    assert b.tuples("<2s") == [(b"ab",), (b"cd",), (b"ef",)]
    mixed = RecordBatch.from_records([b"a", b"bcd"])
    assert mixed.record_size is None and mixed.tolist() == [b"a", b"bcd"]
    with pytest.raises(ebpf.MapError, match="differ"):
        mixed.tuples("<B")
    with pytest.raises(ebpf.MapError, match="do not fit"):
        b.tuples("<I")
    empty = RecordBatch.from_records([])
    assert len(empty) == 0 and empty.tuples("<Q") == [] and empty.tolist() == []


def test_numpy_view_shares_the_buffer():
    np = pytest.importorskip("numpy")
    recs = [struct.pack("<QQ", i, 0) for i in range(5)]
    b = RecordBatch.from_records(recs)
    arr = b.numpy(Pair)
    assert arr["value"].tolist() == [0, 1, 2, 3, 4]
    assert np.shares_memory(arr, np.frombuffer(b.data, dtype=np.uint8))
    arr2 = b.numpy(np.dtype([("value", "<u8")]))  # a prefix of each record
    assert arr2["value"].sum() == 10


@pytest.fixture
def ring():
    m = ebpf.Map.create(ebpf.MapSpec(name="events", type=ebpf.MapType.RINGBUF, max_entries=8192))
    yield m
    m.close()


@pytest.mark.kernel
def test_kernel_batch_of_one_size_records(ring):
    p = load(emit_record(ring.fd, 7, size=16), ProgramType.XDP, name="emit")
    try:
        with ebpf.RingBuffer(ring) as rb:
            assert len(rb.read_batch()) == 0
            run_prog(p, repeat=300)
            batch = rb.read_batch()
            assert len(batch) == 300 and batch.record_size == 16 and batch.stride == 24
            assert batch.tuples("<QQ", names="value zero")[299] == (7, 0)
            assert {bytes(r) for r in batch} == {(7).to_bytes(8, "little") + bytes(8)}
            assert rb.read_batch().tolist() == [] and rb.poll(0) == []  # consumed
            run_prog(p, repeat=5)
            assert rb.poll(0) == [(7).to_bytes(8, "little") + bytes(8)] * 5  # fast path
    finally:
        p.close()


@pytest.mark.kernel
def test_kernel_read_with_a_limit(ring):
    p = load(emit_record(ring.fd, 3), ProgramType.XDP, name="emit")
    try:
        consumer = ring._ring_consumer()
        run_prog(p, repeat=10)
        assert len(consumer.read(limit=4)) == 4
        assert len(consumer.read(limit=4)) == 4
        assert consumer.read() == [(3).to_bytes(8, "little")] * 2
        consumer.close()
    finally:
        p.close()


@pytest.fixture(scope="module")
def var_ring(bpf_compile):
    path = bpf_compile(Path(__file__).parent / "progs" / "ringbuf_var.bpf.c", name="ringbuf_var")
    obj = ebpf.load(path, backend="kernel")
    yield obj
    obj.close()


@pytest.mark.kernel
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(st.tuples(st.sampled_from([7, 7, 7, 20, 63]), st.booleans(),
                                st.binary(min_size=64, max_size=64)), min_size=1, max_size=40),
       how=st.sampled_from(["batch", "read", "limit"]))
def test_kernel_batches_equal_records_property(var_ring, items, how):
    """Runs of one size (the fast path), mixed sizes and discarded reservations,
    wrapping around the ring: every way of reading gives the submitted records."""
    prog = var_ring.programs["emit_var"]
    rb = ebpf.RingBuffer(var_ring.maps["rb"])
    consumer = rb._sources[0].consumer

    def take() -> list[bytes]:
        if how == "batch":
            return rb.read_batch().tolist()
        if how == "limit":
            out: list[bytes] = []
            while more := consumer.read(limit=3):
                out += more
            return out
        return rb.read()

    try:
        expected: list[bytes] = []
        got: list[bytes] = []
        for lenbyte, discard, payload in items:
            r = prog.test_run(bytes([lenbyte, int(discard)]) + payload)
            if not discard:
                assert r.retval == 2
                expected.append(payload[:(lenbyte & 63) + 1])
            if len(expected) % 7 == 0:
                got += take()
        got += take()
        assert got == expected and take() == []
    finally:
        rb.close()


def test_vm_ring_buffer_batches(bpf_compile):
    path = bpf_compile(Path(__file__).parents[1] / "vm" / "progs" / "ringbuf.c")
    with ebpf.load(path, backend="vm") as obj:
        rb = ebpf.RingBuffer(obj.maps["rb"])
        obj.programs["rb_prog"].test_run(bytes(20))
        batch = rb.read_batch()
        assert batch.tolist() == [b"\xef\xcd\xab\x00\x09", (20).to_bytes(8, "little")]
        assert len(rb.read_batch()) == 0
        rb.close()
