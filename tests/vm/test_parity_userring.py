"""USER_RINGBUF and dynptrs: the vm drains what user space writes as the kernel does
(the same object on both backends; the kernel's results are the reference)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"


@pytest.fixture(scope="module")
def obj_path(bpf_compile):
    return bpf_compile(PROGS / "parity_userring.c")


def drain_facts(path, backend: str) -> dict:
    with ebpf.load(path, backend=backend) as obj, \
            ebpf.UserRingBuffer(obj.maps["requests"]) as urb:
        v = obj.variables
        rb = ebpf.RingBuffer(obj.maps["replies"])
        drain = obj.programs["drain"]
        out: dict = {}
        out["empty"] = (drain.test_run(b"\0" * 64).retval, v["bad_flags_ret"].value)
        for n in (1, 2, 3):
            urb.write(n.to_bytes(4, "little") + b"pad")
        urb.discard(urb.reserve(12))
        urb.write(b"\x05\0")            # too short for the callback's u32: read fails
        urb.write((4).to_bytes(4, "little"))
        v["stop_at"].value = 2
        out["first"] = drain.test_run(b"\0" * 64).retval
        out["after_first"] = (v["sum"].value, v["seen"].value, v["nested_ret"].value)
        v["stop_at"].value = 0
        held = urb.reserve(4)           # reserved, not submitted: the drain stops here
        urb.write((8).to_bytes(4, "little"))
        out["second"] = drain.test_run(b"\0" * 64).retval
        held[:] = (6).to_bytes(4, "little")
        urb.submit(held)
        out["third"] = drain.test_run(b"\0" * 64).retval
        out["totals"] = (v["sum"].value, v["seen"].value, v["short_samples"].value,
                         list(v["sizes"].value))
        out["replies"] = [int.from_bytes(r, "little") for r in rb.poll(timeout=0)]
        rb.close()
        try:
            urb.reserve(4096)
        except ebpf.MapFullError as e:
            out["too_big"] = e.errno
        for _ in range(400):
            try:
                urb.write(bytes(8))
            except ebpf.MapFullError as e:
                out["full"] = e.errno
                break
        return out


def dynptr_facts(path, backend: str) -> dict:
    with ebpf.load(path, backend=backend) as obj:
        r = obj.programs["dynptrs"].test_run(b"\0" * 64)
        v = obj.variables
        return {"ret": r.retval, "codes": list(v["dp_ret"].value),
                "copy": bytes(v["dp_copy"].value), "buf": bytes(v["buf"].value)}


def test_user_ringbuf_vm(obj_path):
    f = drain_facts(obj_path, "vm")
    assert f["empty"] == (0, -errno.EINVAL)
    # 1 and 2 drained (the callback stops at 2); the nested drain is refused
    assert f["first"] == 2 and f["after_first"] == (3, 2, -errno.EBUSY)
    # 3, the discarded one (skipped, not counted), the short one, 4; then a held sample
    assert f["second"] == 3
    assert f["third"] == 2
    # a read at offset 2 fits the 7-byte samples, not the 4-byte ones
    e2big = -errno.E2BIG & 0xFFFF_FFFF
    assert f["totals"] == (1 + 2 + 3 + 4 + 6 + 8, 6, 1, [1, 1, 1, e2big, e2big, e2big, 0, 0])
    assert f["replies"] == [2, 4, 6, 8, 12, 16]
    assert f["too_big"] == errno.E2BIG and f["full"] == errno.ENOSPC


def test_dynptrs_vm(obj_path):
    f = dynptr_facts(obj_path, "vm")
    assert f["codes"] == [0, 0, -errno.E2BIG, 0, -errno.EINVAL, ord("!"), 0, -errno.EINVAL]
    assert f["ret"] == (-errno.EINVAL) & 0xFFFFFFFF
    assert f["copy"] == b"tr-buffe" and f["buf"].startswith(b"DYnptr")


def test_user_ringbuf_refuses_other_maps(obj_path):
    with ebpf.load(obj_path, backend="vm") as obj:
        with pytest.raises(ebpf.NotSupportedError):
            ebpf.UserRingBuffer(obj.maps["replies"])
        urb = ebpf.UserRingBuffer(obj.maps["requests"])
        with pytest.raises(ebpf.MapError):
            urb.submit(memoryview(bytearray(4)))
        urb.close()
        with pytest.raises(ebpf.MapError):
            urb.write(b"x")


@pytest.mark.kernel
def test_user_ringbuf_same_as_kernel(obj_path):
    assert drain_facts(obj_path, "kernel") == drain_facts(obj_path, "vm")


@pytest.mark.kernel
def test_dynptrs_same_as_kernel(obj_path):
    assert dynptr_facts(obj_path, "kernel") == dynptr_facts(obj_path, "vm")
