"""bpf_endian.h against Python's own byte order conversions, for arbitrary
values (hypothesis), both the byte-swap instruction path and the
constant-folding shift/mask path, run in the vm backend."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from toolchain_support import compiler_available

import ebpf
from ebpf.toolchain import compile

SRC = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u64 out[12] = {};

SEC("xdp")
int conv(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 a; __u32 b; __u64 c;

	if (data + 14 > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(&a, data, 2);
	__builtin_memcpy(&b, data + 2, 4);
	__builtin_memcpy(&c, data + 6, 8);
	out[0] = bpf_htons(a);
	out[1] = bpf_ntohs(a);
	out[2] = bpf_htonl(b);
	out[3] = bpf_ntohl(b);
	out[4] = bpf_cpu_to_be64(c);
	out[5] = bpf_be64_to_cpu(c);
	/* the shift-and-mask forms, used on constants, computed on variables here */
	out[6] = __bpf_constant_htons(a);
	out[7] = __bpf_constant_ntohl(b);
	out[8] = __bpf_constant_cpu_to_be64(c);
	out[9] = __bpf_constant_ntohs(a);
	out[10] = __bpf_constant_htonl(b);
	out[11] = __bpf_constant_be64_to_cpu(c);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.fixture(scope="module", params=["clang", "zig"])
def endian_obj(request, tmp_path_factory):
    if not compiler_available(request.param):
        pytest.skip(f"{request.param} not installed")
    d = tmp_path_factory.mktemp("endian")
    (d / "endian.bpf.c").write_text(SRC)
    obj = ebpf.load(compile(d / "endian.bpf.c", cc=request.param), backend="vm")
    yield obj
    obj.close()


@settings(max_examples=60, deadline=None)
@given(a=st.integers(0, 2**16 - 1), b=st.integers(0, 2**32 - 1), c=st.integers(0, 2**64 - 1))
def test_conversions_match_python(endian_obj, a, b, c):
    data = struct.pack("<HIQ", a, b, c) + b"\0" * 50
    assert endian_obj.programs["conv"].test_run(data=data).retval == 2
    out = list(endian_obj.variables["out"].value)
    s16 = int.from_bytes(a.to_bytes(2, "little"), "big")
    s32 = int.from_bytes(b.to_bytes(4, "little"), "big")
    s64 = int.from_bytes(c.to_bytes(8, "little"), "big")
    assert out == [s16, s16, s32, s32, s64, s64, s16, s32, s64, s16, s32, s64]
