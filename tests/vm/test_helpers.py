"""Helper semantics: one raw-tracepoint program calling many helpers, checked
against fixed expectations in the vm and against the kernel (kernel-marked)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import pytest

import ebpf

PROGS = Path(__file__).parent / "progs"

EXPECTED = {
    0: 5, 1: 30,                 # bpf_loop stops when the callback returns 1; 0+1+4+9+16
    2: 0xFFFF_FFF9,              # -E2BIG, 32-bit as the verifier-inlined bpf_loop gives it
    3: -17, 4: -2, 5: -2,        # EEXIST (NOEXIST), ENOENT (EXIST), ENOENT (delete)
    6: 3, 7: 6042,               # for_each_map_elem over 3 entries: sum key*1000 + value
    8: 7, 9: -31,                # strtol("  -0x1f zz", base 0) consumed 7 chars
    10: 5, 11: 12345, 12: -22,   # strtoul; a '-' is EINVAL for strtoul
    13: 0, 14: 11, 15: 13,       # queue drops the oldest with BPF_EXIST; stack peek = last
    16: 24, 17: 8, 18: 0xFFFF_FFFF,  # longest prefix match
    19: 0,                       # LRU evicted the least recently used key
    20: 0, 21: -2,               # bloom filter peek
    22: 7, 23: 13,               # snprintf returns the full length + 1
    24: 0, 25: 80, 26: 0,        # ringbuf output; avail data; too big to reserve
    27: -34,                     # probe_read_kernel of a user-half address: -ERANGE
    28: 8, 29: ord("w"),         # probe_read_kernel_str copies at most size-1 + NUL
    30: 0, 31: 0,
}
RECORDS = [b"-5|ff||00042".ljust(48, b"\0"),
           (30).to_bytes(8, "little") + (4).to_bytes(4, "little") + bytes(4)]


@pytest.fixture(scope="module")
def helpers_obj(bpf_compile):
    return bpf_compile(PROGS / "helpers.c")


def run_vm(path):
    with ebpf.load(path, backend="vm") as obj:
        rb = ebpf.RingBuffer(obj.maps["rb"])
        try:
            r0 = obj.programs["helpers"].run([10, 4])
            return r0, dict(obj.maps["out"].items()), rb.poll(timeout=0.5)
        finally:
            rb.close()


@pytest.mark.parametrize("jit", [True, False])
def test_helpers_in_vm(helpers_obj, jit):
    with ebpf.load(helpers_obj, backend="vm", jit=jit) as obj:
        rb = ebpf.RingBuffer(obj.maps["rb"])
        r0 = obj.programs["helpers"].run([10, 4])
        records = rb.poll(timeout=0.5)
        rb.close()
        assert r0 == 7
        assert dict(obj.maps["out"].items()) == EXPECTED
        assert records == RECORDS


def kernel_raw_tp_run(prog, args):
    """BPF_PROG_TEST_RUN of a raw tracepoint program (ctx in only)."""
    from ebpf.kernel import sys as bsys
    from ebpf.uapi import Command, structs

    buf = ctypes.create_string_buffer(b"".join(a.to_bytes(8, "little") for a in args))
    attr = structs.ProgTestRunAttr(prog_fd=prog.fd, ctx_in=ctypes.addressof(buf),
                                ctx_size_in=8 * len(args))
    bsys.bpf(Command.PROG_TEST_RUN, attr, what="raw_tp test run")
    return attr.retval


@pytest.mark.kernel
def test_helpers_match_kernel(helpers_obj):
    with ebpf.load(helpers_obj, backend="kernel") as obj:
        rb = ebpf.RingBuffer(obj.maps["rb"])
        r0 = kernel_raw_tp_run(obj.programs["helpers"], [10, 4])
        kernel = (r0, dict(obj.maps["out"].items()), rb.poll(timeout=0.5))
        rb.close()
    assert run_vm(helpers_obj) == kernel
