"""GCC's BPF back end (bpf-gcc 12 here) against clang, in the real kernel.

GNU as writes the symbol's value plus the addend into an ``lddw`` it relocates
against a named symbol (LLVM writes the addend alone), and bpf-gcc 12's BTF has
records the kernel refuses as they are (SIGNED|CHAR ints, anonymous and
unnamed-argument FUNCs for helpers, DATASECs out of order). The same source
built by both compilers must load with its BTF and give the same results."""

from __future__ import annotations

import pytest
from toolchain_support import compiler_available

import ebpf

SOURCE = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} first SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} second SEC(".maps");

struct stats { __u64 a; __u64 b; __u32 c; __u32 d; };

__u64 pad0 = 1;
struct stats st = { 10, 20, 30, 40 };
char text[16] = "abcdefghijklmnop";
__u32 arr[4] = { 1, 2, 3, 4 };
struct stats zst;
__u64 zpad;
char copied[8];
signed char tiny = -3;
const volatile struct stats cst = { 5, 6, 7, 8 };
const volatile int cint = 9;

SEC("xdp")
int both(struct xdp_md *ctx)
{
	__u32 k = 1;
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&first, &k);
	if (v)
		*v += cst.d + cint;
	bpf_map_update_elem(&second, &k, &one, BPF_ANY);
	/* addresses of members of globals that do not start their section */
	bpf_probe_read_kernel(&st.b, sizeof(st.b), &pad0);
	bpf_probe_read_kernel(copied, 4, &text[8]);
	st.d += 2;
	arr[2] += 10;
	zst.c += 3;
	zpad += 4;
	pad0 += cst.b;
	tiny -= 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""

EXPECTED = {"pad0": 7, "arr": [1, 2, 13, 4], "zpad": 4, "cint": 9, "tiny": -4,
            "copied": b"ijkl\0\0\0\0"}


def run(obj_path):
    with ebpf.load(obj_path, backend="kernel") as obj:
        assert obj.btf is not None, "object BTF was not accepted by the kernel"
        assert obj.maps["first"].info().btf_id != 0
        assert obj.programs["both"].test_run(bytes(64)).retval == 2
        values = {k: obj.variables[k].value for k in obj.spec.variables}
        st = values["st"]
        return (values, (st.a, st.b, st.c, st.d), (values["zst"].c,), obj.maps["first"][1],
                dict(obj.maps["second"].items()))


@pytest.mark.kernel
@pytest.mark.skipif(not compiler_available("gcc"), reason="bpf-gcc not installed")
def test_gcc_object_matches_clang_in_the_kernel(tmp_path):
    src = tmp_path / "globals.bpf.c"
    src.write_text(SOURCE)
    gcc_obj = ebpf.toolchain.compile(src, tmp_path / "gcc.o", cc="gcc")
    clang_obj = ebpf.toolchain.compile(src, tmp_path / "clang.o", cc="clang")
    got_gcc, got_clang = run(gcc_obj), run(clang_obj)
    values, st, zst, first, second = got_gcc
    for k, v in EXPECTED.items():
        assert (values[k] if not isinstance(v, bytes) else bytes(values[k])) == v, k
    assert st == (10, 1, 30, 42) and zst == (3,) and first == 17 and second == {1: 1}
    assert got_gcc[1:] == got_clang[1:]
    assert {k: v for k, v in got_gcc[0].items() if k in EXPECTED} == \
        {k: v for k, v in got_clang[0].items() if k in EXPECTED}


NULL_PATH_SOURCE = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} m SEC(".maps");

SEC("xdp")
int nul(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&m, &k);

	if (!v && ctx->ingress_ifindex == 1234567)
		return *v;	/* GCC would isolate this path into `call abort` */
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""

DIVISION_SOURCE = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

long long a = -100, b = 7, q;

SEC("xdp")
int divide(struct xdp_md *ctx)
{
	q = a / b;	/* bpf-gcc 12 at -mcpu=v3: a call to __divdi3 */
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.skipif(not compiler_available("gcc"), reason="bpf-gcc not installed")
def test_gcc_provable_null_path_is_not_a_libcall(tmp_path):
    src = tmp_path / "nul.bpf.c"
    src.write_text(NULL_PATH_SOURCE)
    spec = ebpf.ObjectSpec.from_file(ebpf.toolchain.compile(src, tmp_path / "nul.o", cc="gcc"))
    assert "nul" in spec.programs  # no `call abort` left for the reader to refuse


@pytest.mark.skipif(not compiler_available("gcc"), reason="bpf-gcc not installed")
def test_gcc_libcall_is_explained(tmp_path):
    src = tmp_path / "div.bpf.c"
    src.write_text(DIVISION_SOURCE)
    obj = ebpf.toolchain.compile(src, tmp_path / "div.o", cc="gcc")
    with pytest.raises(ebpf.ELFError, match="__divdi3.*library call.*clang"):
        ebpf.ObjectSpec.from_file(obj)


@pytest.mark.kernel
@pytest.mark.skipif(not compiler_available("gcc"), reason="bpf-gcc not installed")
def test_gcc_misplaced_core_records_are_explained(build):
    # bpf-gcc 12 puts some CO-RE records one instruction off (libbpf refuses the
    # same objects); the error must say so instead of only quoting offsets
    obj = build("bootstrap", "gcc").obj
    try:
        with ebpf.load(obj, backend="kernel") as loaded:
            assert loaded.programs  # a GCC that gets CO-RE right: fine
    except ebpf.LoadError as e:
        assert "CO-RE relocation failed" in str(e) and "build with clang" in str(e)


CALLBACKS_SOURCE = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u64 total = 0;
__u64 other = 0;

static int add_one(__u32 idx, void *ctx)
{
	total += idx;
	return 0;
}

static int add_two(__u32 idx, void *ctx)
{
	other += idx * 2;
	return 0;
}

static __attribute__((noinline)) int helper(int x)
{
	return x + 1;
}

SEC("xdp")
int loops(struct xdp_md *ctx)
{
	bpf_loop(5, add_one, NULL, 0);
	bpf_loop(4, add_two, NULL, 0);
	return helper(1);
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.kernel
@pytest.mark.skipif(not compiler_available("gcc"), reason="bpf-gcc not installed")
def test_gcc_callbacks_and_subprograms_get_func_info(tmp_path):
    # bpf-gcc 12 writes no func_info; with the object BTF loaded the kernel needs it
    # for bpf_loop callbacks ("missing btf func_info"): it comes from the BTF FUNCs
    src = tmp_path / "loops.bpf.c"
    src.write_text(CALLBACKS_SOURCE)
    results = {}
    for cc in ("gcc", "clang"):
        spec = ebpf.ObjectSpec.from_file(ebpf.toolchain.compile(src, tmp_path / f"{cc}.o", cc=cc))
        assert len(spec.programs["loops"].func_infos) >= 3  # program + both callbacks
        with ebpf.load(spec, backend="kernel") as obj:
            r = obj.programs["loops"].test_run(bytes(64)).retval
            results[cc] = (r, obj.variables["total"].value, obj.variables["other"].value)
    assert results["gcc"] == results["clang"] == (2, 10, 12)
