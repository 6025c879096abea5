"""Typed kernel pointers (tracing arguments, pointer members of kernel structs)
are checked against the struct's layout in the kernel's BTF, as the kernel's
btf_struct_access: in bounds, no negative offsets, a trailing flexible array may
be read past the struct's size. Same verdict and wording as the kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf

SRC = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

u64 seen = 0;

SEC("tp_btf/sched_switch")
int BPF_PROG(inside, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	seen = prev->pid + next->real_parent->tgid;
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(beyond, bool preempt, struct task_struct *prev)
{
	seen = *(u64 *)((char *)prev + 30000);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(negative, bool preempt, struct task_struct *prev)
{
	seen = *(u64 *)((char *)prev - 8);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(member_beyond, bool preempt, struct task_struct *prev)
{
	struct task_struct *parent = prev->real_parent;	/* a typed member pointer */
	seen = *(u64 *)((char *)parent + 30000);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(flexible_tail, bool preempt, struct task_struct *prev)
{
	struct mm_struct *mm = prev->mm;	/* ends in unsigned long cpu_bitmap[] */
	seen = *(u64 *)((char *)mm + 30000);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""

EXPECTED = {
    "inside": None,
    "beyond": "access beyond struct task_struct at off 30000 size 8",
    "negative": "R1 is ptr_task_struct invalid negative access: off=-8",
    "member_beyond": "access beyond struct task_struct at off 30000 size 8",
    "flexible_tail": None,
}

pytestmark = pytest.mark.skipif(not Path("/sys/kernel/btf/vmlinux").is_file(),
                                reason="needs the kernel's BTF")


@pytest.fixture(scope="module")
def obj(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("btf_layout")
    (d / "t.bpf.c").write_text(SRC)
    return ebpf.compile(d / "t.bpf.c", d / "t.bpf.o")


@pytest.mark.parametrize("program", list(EXPECTED))
def test_ours(obj, program):
    res = ebpf.verify(obj, program=program, check=False)
    want = EXPECTED[program]
    if want is None:
        assert res.accepted, res.error
    else:
        assert not res.accepted and want in res.error


@pytest.mark.kernel
@pytest.mark.parametrize("program", list(EXPECTED))
def test_the_kernel_agrees(obj, program):
    want = EXPECTED[program]
    if want is None:
        ebpf.load(obj, backend="kernel", programs=[program]).close()
    else:
        with pytest.raises(ebpf.VerifierError) as e:
            ebpf.load(obj, backend="kernel", programs=[program]).close()
        assert want in e.value.log
