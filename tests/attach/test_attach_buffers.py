"""Ring buffers and perf buffers: the kernel mmap readers (fed by raw programs
through BPF_PROG_TEST_RUN) and the backend-neutral consumer protocol."""

from __future__ import annotations

import asyncio
import ctypes
import os
import threading
import time

import pytest
from attach_raw import emit_record, load, run_prog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ebpf
from ebpf.kernel import perf as kperf
from ebpf.ringbuf import Poller
from ebpf.uapi import ProgramType


class Event(ctypes.Structure):
    _fields_ = [("value", ctypes.c_uint64), ("pad", ctypes.c_uint64)]


@pytest.fixture
def ring():
    m = ebpf.Map.create(ebpf.MapSpec(name="events", type=ebpf.MapType.RINGBUF, max_entries=4096))
    yield m
    m.close()


@pytest.fixture
def perf_map():
    m = ebpf.Map.create(ebpf.MapSpec(name="pevents", type=ebpf.MapType.PERF_EVENT_ARRAY,
                                     key_size=4, value_size=4,
                                     max_entries=len(kperf.possible_cpus())))
    yield m
    m.close()


@pytest.mark.kernel
def test_ringbuf_records_in_order_and_capacity(ring):
    p = load(emit_record(ring.fd, 7), ProgramType.XDP, name="emit")
    try:
        with ebpf.RingBuffer(ring) as rb:
            assert rb.poll(0) == []
            t0 = time.monotonic()
            assert rb.poll(0.1) == []
            assert time.monotonic() - t0 >= 0.09
            run_prog(p, repeat=3)
            assert rb.poll(0) == [(7).to_bytes(8, "little")] * 3
            # 16 bytes per record (8 header + 8 data): 4096/16 = 256 slots, the last one
            # cannot be reserved (the ring would look empty) -> 255 fit, none lost below that
            run_prog(p, repeat=255)
            assert len(rb.poll(0)) == 255
            run_prog(p, repeat=1000)
            assert len(rb.poll(0)) == 255
    finally:
        p.close()


@pytest.mark.kernel
def test_ringbuf_decode_callback_and_wraparound(ring):
    p = load(emit_record(ring.fd, 0x11223344, size=16), ProgramType.XDP, name="emit16")
    seen = []
    try:
        rb = ebpf.RingBuffer(ring, callback=seen.append, decode=Event)
        total = 0
        for _ in range(40):  # 24-byte slots wrap around the 4096-byte ring many times
            run_prog(p, repeat=37)
            recs = rb.poll(0)
            assert len(recs) == 37
            total += len(recs)
        assert all(isinstance(r, Event) and r.value == 0x11223344 for r in seen)
        assert len(seen) == total == 40 * 37
        rb.close()
        with pytest.raises(ebpf.MapError, match="closed"):
            rb.poll(0)
    finally:
        p.close()


@pytest.mark.kernel
def test_ringbuf_blocking_iteration_wakes_up(ring):
    p = load(emit_record(ring.fd, 5), ProgramType.XDP, name="emit")
    try:
        rb = ebpf.RingBuffer(ring, decode=lambda b: int.from_bytes(b, "little"))
        timer = threading.Timer(0.1, run_prog, (p,), {"repeat": 2})
        timer.start()
        t0 = time.monotonic()
        it = iter(rb)
        assert next(it) == 5
        assert next(it) == 5
        assert time.monotonic() - t0 < 5
        timer.join()
        rb.close()
    finally:
        p.close()


@pytest.mark.kernel
def test_ringbuf_asyncio(ring):
    p = load(emit_record(ring.fd, 9), ProgramType.XDP, name="emit")

    async def main():
        rb = ebpf.RingBuffer(ring)
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, run_prog, p, b"\0" * 64, 3)
        got = []
        async for rec in rb:
            got.append(rec)
            if len(got) == 3:
                break
        assert await rb.poll_async(0.05) == []
        rb.close()
        return got

    try:
        assert asyncio.run(asyncio.wait_for(main(), 5)) == [(9).to_bytes(8, "little")] * 3
    finally:
        p.close()


@pytest.mark.kernel
def test_two_ring_buffers_one_poller(ring):
    other = ebpf.Map.create(ebpf.MapSpec(name="other", type=ebpf.MapType.RINGBUF,
                                         max_entries=8192))
    p1 = load(emit_record(ring.fd, 1), ProgramType.XDP, name="e1")
    p2 = load(emit_record(other.fd, 2), ProgramType.XDP, name="e2")
    a, b = [], []
    try:
        rb = ebpf.RingBuffer(ring, a.append).add(other, b.append)
        assert rb.sources == 2
        run_prog(p2, repeat=2)
        recs = rb.poll(1.0)
        assert recs == [(2).to_bytes(8, "little")] * 2 and b == recs and a == []
        run_prog(p1)
        run_prog(p2)
        assert sorted(rb.poll(1.0)) == [(1).to_bytes(8, "little"), (2).to_bytes(8, "little")]
        rb.close()
    finally:
        p1.close()
        p2.close()
        other.close()


@pytest.mark.kernel
def test_ringbuf_rejects_wrong_maps(perf_map):
    with pytest.raises(ebpf.MapError, match="RingBuffer needs a RINGBUF map"):
        ebpf.RingBuffer(perf_map)
    h = ebpf.Map.create(ebpf.MapSpec(name="h", type=ebpf.MapType.HASH, key_size=4,
                                     value_size=4, max_entries=4))
    try:
        with pytest.raises(ebpf.MapError, match="PERF_EVENT_ARRAY"):
            ebpf.PerfBuffer(h)
        with pytest.raises(ebpf.MapError, match="not RINGBUF"):
            Poller().add(h)
    finally:
        h.close()


@pytest.mark.kernel
def test_perf_buffer_samples_and_lost(perf_map):
    p = load(emit_record(perf_map.fd, 9, perf=True), ProgramType.XDP, name="emitp")
    lost = []
    affinity = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(affinity)})  # every record into the same CPU's ring
    try:
        pb = ebpf.PerfBuffer(perf_map, page_count=1, lost_callback=lost.append)
        run_prog(p, repeat=3)
        recs = pb.poll(1.0)
        # raw samples are padded so that u32 size + data is 8-byte aligned
        assert recs == [(9).to_bytes(8, "little") + b"\0" * 4] * 3
        run_prog(p, repeat=1000)  # 24 bytes a record: a 4096-byte ring holds 170
        assert len(pb.poll(0)) == 170
        run_prog(p)  # the LOST record is written once there is room again
        assert len(pb.poll(1.0)) == 1
        assert lost == [830] and pb.lost == 830
        pb.close()
        pb.close()
    finally:
        os.sched_setaffinity(0, affinity)
        p.close()


@pytest.mark.kernel
def test_poller_mixes_ring_and_perf(ring, perf_map):
    p1 = load(emit_record(ring.fd, 1), ProgramType.XDP, name="e1")
    p2 = load(emit_record(perf_map.fd, 2, perf=True), ProgramType.XDP, name="e2")
    try:
        with Poller() as poller:
            poller.add(ring).add(perf_map, page_count=2)
            run_prog(p1)
            run_prog(p2)
            got = []
            deadline = time.monotonic() + 2
            while len(got) < 2 and time.monotonic() < deadline:
                got += poller.poll(0.5)
            assert sorted(r[:8] for r in got) == [(1).to_bytes(8, "little"),
                                                  (2).to_bytes(8, "little")]
    finally:
        p1.close()
        p2.close()


class FakeConsumer:
    """A consumer speaking the documented protocol, as another backend would."""

    def __init__(self, with_fd: bool):
        import os

        self.records: list[bytes] = []
        self.closed = False
        self._r, self._w = os.pipe() if with_fd else (None, None)
        self.lock = threading.Lock()

    def push(self, rec: bytes) -> None:
        import os

        with self.lock:
            self.records.append(rec)
        if self._w is not None:
            os.write(self._w, b"x")

    def fileno(self):
        return self._r

    def wait(self, timeout):
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.records:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.001)
        return True

    def read(self):
        import os

        if self._r is not None:
            try:
                os.set_blocking(self._r, False)
                os.read(self._r, 4096)
            except BlockingIOError:
                pass
        with self.lock:
            out, self.records = self.records, []
        return out

    def take_lost(self):
        return 0

    def close(self):
        import os

        self.closed = True
        for fd in (self._r, self._w):
            if fd is not None:
                os.close(fd)


class FakeRingMap:
    type = ebpf.MapType.RINGBUF
    backend = "fake"
    name = "fake_ring"

    def __init__(self, with_fd: bool):
        self.consumer = FakeConsumer(with_fd)

    def _ring_consumer(self):
        return self.consumer


@pytest.mark.parametrize("with_fd", [True, False])
def test_protocol_consumer_from_another_backend(with_fd):
    m = FakeRingMap(with_fd)
    rb = ebpf.RingBuffer(m, decode=lambda b: b.decode())
    assert rb.poll(0) == []
    m.consumer.push(b"a")
    m.consumer.push(b"b")
    assert rb.poll(1.0) == ["a", "b"]
    threading.Timer(0.05, m.consumer.push, (b"c",)).start()
    assert rb.poll(2.0) == ["c"]
    assert rb.poll(0.02) == []
    rb.close()
    assert m.consumer.closed


def test_protocol_consumer_asyncio_without_fd():
    m = FakeRingMap(False)

    async def main():
        rb = ebpf.RingBuffer(m)
        asyncio.get_running_loop().call_later(0.02, m.consumer.push, b"z")
        return await rb.poll_async(2.0)

    assert asyncio.run(main()) == [b"z"]


def test_decoder_errors():
    from ebpf.ringbuf import make_decoder

    dec = make_decoder(Event)
    assert dec(b"\1" + b"\0" * 15).value == 1
    with pytest.raises(ebpf.MapError, match="shorter than Event"):
        dec(b"\0" * 8)
    with pytest.raises(ebpf.MapError, match="no BTF value type"):
        make_decoder("btf", FakeRingMap(False))
    with pytest.raises(TypeError, match="decode="):
        make_decoder(42)



@pytest.fixture(scope="module")
def var_ring(bpf_compile):
    from pathlib import Path

    path = bpf_compile(Path(__file__).parent / "progs" / "ringbuf_var.bpf.c", name="ringbuf_var")
    obj = ebpf.load(path, backend="kernel")
    yield obj
    obj.close()


@pytest.mark.kernel
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(st.tuples(st.integers(0, 255), st.booleans(), st.binary(min_size=64,
                                                                               max_size=64)),
                      min_size=1, max_size=40))
def test_ringbuf_variable_records_and_discards_property(var_ring, items):
    """Whatever mix of lengths and discarded reservations, wrapping around the ring
    as it goes: exactly the submitted records come out, in order, byte for byte."""
    prog = var_ring.programs["emit_var"]
    rb = ebpf.RingBuffer(var_ring.maps["rb"])
    try:
        expected: list[bytes] = []
        got: list[bytes] = []
        for lenbyte, discard, payload in items:
            r = prog.test_run(bytes([lenbyte, int(discard)]) + payload)
            if not discard:
                assert r.retval == 2  # XDP_PASS: the record fitted
                expected.append(payload[:(lenbyte & 63) + 1])
            if len(expected) % 7 == 0:  # drain now and then, so positions wrap
                got += rb.poll(0)
        got += rb.poll(0)
        assert got == expected
        assert rb.poll(0) == []
    finally:
        rb.close()
