"""Regression tests from independent QA on real-world programs (libbpf-bootstrap,
bcc libbpf-tools, xdp-tutorial, cilium/ebpf testdata). Each test is a small
self-written reproduction of a pattern those programs use; the finding number
refers to /tmp/qa/FINDINGS.md (QA report). Tests marked xfail(strict=True) fail
today and start passing (then XPASS -> error) once the owner fixes the finding.
"""

from __future__ import annotations

import struct

import pytest

import ebpf

RAW_TP_AND_SYSCALL = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct args { int a; int b; int sum; };

SEC("raw_tp/sys_enter")
int rawtp_sum(struct bpf_raw_tracepoint_args *ctx)
{
	return (int)(ctx->args[0] + ctx->args[1]);
}

SEC("syscall")
int syscall_sum(struct args *ctx)
{
	ctx->sum = ctx->a + ctx->b;
	return ctx->sum * 2;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.kernel
def test_rw_raw_tp_test_run_kernel(bpf_compile):
    obj_path = bpf_compile(RAW_TP_AND_SYSCALL, name="rw_rawtp")
    ctx = struct.pack("<QQ", 3, 4)
    with ebpf.load(obj_path, backend="kernel") as obj:
        assert obj.programs["rawtp_sum"].test_run(ctx=ctx).retval == 7


@pytest.mark.kernel
def test_rw_syscall_test_run_kernel(bpf_compile):
    obj_path = bpf_compile(RAW_TP_AND_SYSCALL, name="rw_rawtp")
    with ebpf.load(obj_path, backend="kernel") as obj:
        r = obj.programs["syscall_sum"].test_run(ctx=struct.pack("<iii", 5, 6, 0))
        assert r.retval == 22
        assert struct.unpack("<iii", r.ctx[:12]) == (5, 6, 11)  # syscall progs write ctx back


def test_rw_raw_tp_and_syscall_test_run_vm(bpf_compile):
    obj_path = bpf_compile(RAW_TP_AND_SYSCALL, name="rw_rawtp")
    with ebpf.load(obj_path, backend="vm") as obj:
        assert obj.programs["rawtp_sum"].test_run(ctx=struct.pack("<QQ", 3, 4)).retval == 7
        r = obj.programs["syscall_sum"].test_run(ctx=struct.pack("<iii", 5, 6, 0))
        assert r.retval == 22
        assert struct.unpack("<iii", r.ctx[:12]) == (5, 6, 11)


AUTOLOAD = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

extern int bpf_qa_no_such_kfunc(int x) __ksym;

SEC("fentry/qa_dummy_target_does_not_exist")
int BPF_PROG(dummy_fentry)
{
	return 0;
}

SEC("xdp")
int uses_missing_kfunc(struct xdp_md *ctx)
{
	return bpf_qa_no_such_kfunc(1);
}

SEC("?xdp")
int optional_missing_kfunc(struct xdp_md *ctx)
{
	return bpf_qa_no_such_kfunc(2);
}

SEC("xdp")
int xdp_ok(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


def _autoload_spec(bpf_compile) -> ebpf.ObjectSpec:
    spec = ebpf.ObjectSpec.from_file(bpf_compile(AUTOLOAD, name="rw_autoload"))
    assert spec.programs["optional_missing_kfunc"].autoload is False  # SEC("?...")
    spec.programs["dummy_fentry"].autoload = False
    spec.programs["uses_missing_kfunc"].autoload = False
    return spec


@pytest.mark.parametrize("backend", [
    pytest.param("kernel", marks=pytest.mark.kernel), "vm"])
def test_rw_autoload_false_is_not_loaded(bpf_compile, backend):
    with ebpf.load(_autoload_spec(bpf_compile), backend=backend) as obj:
        assert obj.programs["xdp_ok"].test_run(bytes(64)).retval == 2  # XDP_PASS
        assert "dummy_fentry" not in obj.programs
        assert "optional_missing_kfunc" not in obj.programs


CGROUP_FILTER = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile bool filter_cg = false;

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__type(key, u32);
	__type(value, u32);
	__uint(max_entries, 1);
} cgroup_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, 1);
} counts SEC(".maps");

SEC("socket")
int count_pkts(struct __sk_buff *skb)
{
	u32 zero = 0;
	u64 *v;

	if (filter_cg && !bpf_current_task_under_cgroup(&cgroup_map, 0))
		return 0;
	v = bpf_map_lookup_elem(&counts, &zero);
	if (v)
		__sync_fetch_and_add(v, 1);
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.kernel
def test_rw_cgroup_filter_pattern_kernel(bpf_compile):
    with ebpf.load(bpf_compile(CGROUP_FILTER, name="rw_cgfilter"), backend="kernel") as obj:
        assert obj.programs["count_pkts"].test_run(bytes(60)).retval == 46  # L2 header pulled
        assert obj.maps["counts"][0] == 1


def test_rw_cgroup_filter_pattern_vm(bpf_compile):
    with ebpf.load(bpf_compile(CGROUP_FILTER, name="rw_cgfilter"), backend="vm") as obj:
        assert obj.programs["count_pkts"].test_run(bytes(60)).retval == 46  # L2 header pulled
        assert obj.maps["counts"][0] == 1


UNTYPED_KSYM_WITH_SPIN_LOCK = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern const void bpf_init __ksym;

struct val { struct bpf_spin_lock lock; u64 n; };
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct val);
} locked SEC(".maps");

u64 init_addr = 0;

SEC("xdp")
int ksyms(struct xdp_md *ctx)
{
	u32 k = 0;
	struct val *v;

	init_addr = (u64)&bpf_init;
	v = bpf_map_lookup_elem(&locked, &k);
	if (!v)
		return XDP_DROP;
	bpf_spin_lock(&v->lock);
	v->n++;
	bpf_spin_unlock(&v->lock);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.kernel
def test_rw_untyped_ksym_keeps_object_btf(bpf_compile):
    path = bpf_compile(UNTYPED_KSYM_WITH_SPIN_LOCK, name="rw_ksym")
    with ebpf.load(path, backend="kernel") as obj:
        assert obj.programs["ksyms"].test_run(bytes(64)).retval == 2
        assert obj.variables["init_addr"].value != 0
        assert obj.maps["locked"][0].n == 1


CORE_FLAVORS = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___qa { int pid; int qa_missing_field; } __attribute__((preserve_access_index));
enum bpf_map_type___qa { BPF_MAP_TYPE_RINGBUF___qa = 1234, BPF_MAP_TYPE_QA_NOPE___qa = 99 };

u64 off_pid = 0, sz_task = 0, exists_missing = 9, exists_pid = 9, enum_ringbuf = 0, enum_nope = 9;

SEC("xdp")
int core(struct xdp_md *ctx)
{
	off_pid = bpf_core_field_offset(struct task_struct___qa, pid);
	sz_task = bpf_core_type_size(struct task_struct___qa);
	exists_missing = bpf_core_field_exists(struct task_struct___qa, qa_missing_field);
	exists_pid = bpf_core_field_exists(struct task_struct___qa, pid);
	enum_ringbuf = bpf_core_enum_value(enum bpf_map_type___qa, BPF_MAP_TYPE_RINGBUF___qa);
	enum_nope = bpf_core_enum_value_exists(enum bpf_map_type___qa, BPF_MAP_TYPE_QA_NOPE___qa);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""
CORE_VARS = ("off_pid", "sz_task", "exists_missing", "exists_pid", "enum_ringbuf", "enum_nope")


def _core_values(path, backend):
    with ebpf.load(path, backend=backend) as obj:
        assert obj.programs["core"].test_run(bytes(64)).retval == 2
        return {v: obj.variables[v].value for v in CORE_VARS}


@pytest.mark.kernel
def test_rw_core_flavors_kernel(bpf_compile):
    got = _core_values(bpf_compile(CORE_FLAVORS, name="rw_core"), "kernel")
    assert got["exists_missing"] == 0 and got["exists_pid"] == 1 and got["enum_nope"] == 0
    assert got["enum_ringbuf"] == int(ebpf.MapType.RINGBUF)
    assert got["off_pid"] > 0 and got["sz_task"] > 1000


@pytest.mark.kernel
def test_rw_core_flavors_vm_matches_kernel(bpf_compile):
    path = bpf_compile(CORE_FLAVORS, name="rw_core")
    assert _core_values(path, "vm") == _core_values(path, "kernel")


WEAK_KFUNC = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int bpf_qa_missing_kfunc(int x) __weak __ksym;
int has_kfunc = -1;

SEC("xdp")
int weak_kfunc(struct xdp_md *ctx)
{
	has_kfunc = bpf_ksym_exists(bpf_qa_missing_kfunc);
	if (bpf_ksym_exists(bpf_qa_missing_kfunc))
		return bpf_qa_missing_kfunc(1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""


@pytest.mark.parametrize("backend", [
    pytest.param("kernel", marks=pytest.mark.kernel),
    "vm"])
def test_rw_weak_kfunc_guarded_by_ksym_exists(bpf_compile, backend):
    with ebpf.load(bpf_compile(WEAK_KFUNC, name="rw_weak_kfunc"), backend=backend) as obj:
        assert obj.programs["weak_kfunc"].test_run(bytes(64)).retval == 2
        assert obj.variables["has_kfunc"].value == 0
