"""Patterns from public tools (libbpf-tools) that the kernel accepts and our verifier
once refused: each accepted by ours and, where this kernel loads it, by the kernel.

* a static subprogram returning nothing (void): R0 stays unset at its exit;
* a ``.kconfig`` extern (LINUX_KERNEL_VERSION) choosing between context slots:
  the extern is a known constant, so the other branch is dead (bitesize);
* a tp_btf program spilling a 32-bit int argument (softirqslower): the argument
  is a scalar by the tracepoint's BTF prototype, not a kernel pointer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ebpf
from ebpf.spec import ObjectSpec
from ebpf.verifier import verify, verify_program

KERNEL_BTF = Path("/sys/kernel/btf/vmlinux")

SRC = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

extern int LINUX_KERNEL_VERSION __kconfig;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

static __noinline void bump(u32 key)
{
	u64 one = 1, *v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(void_subprog, bool preempt)
{
	bump(1);
	return 0;
}

static __noinline int first_arg(struct task_struct *t)
{
	bump(t ? 2 : 3);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(kconfig_picks_the_slot)
{
	/* the compiler picks the slot with arithmetic on ctx: the dead branch's */
	/* slot is read through a modified ctx pointer, which is refused */
	if (LINUX_KERNEL_VERSION >= KERNEL_VERSION(5, 0, 0))
		return first_arg((void *)ctx[0]);
	else
		return first_arg((void *)ctx[1]);
}

SEC("tp_btf/softirq_raise")
int BPF_PROG(int_argument, unsigned int vec_nr)
{
	volatile u32 vec = vec_nr;	/* a 4-byte spill of the argument */
	bump(vec);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""

CALLBACK_WITHOUT_RETURN = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

static long no_return(u32 index, void *ctx)
{
	asm volatile("" ::: "r0");
}

SEC("tp_btf/sched_switch")
int loop(void *ctx)
{
	bpf_loop(4, no_return, 0, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
"""

pytestmark = pytest.mark.skipif(not KERNEL_BTF.is_file(), reason="needs kernel BTF")


@pytest.fixture(scope="module")
def obj(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("accept")
    (d / "p.bpf.c").write_text(SRC)
    return ebpf.compile(d / "p.bpf.c", d / "p.bpf.o")


@pytest.mark.parametrize("program", ["void_subprog", "kconfig_picks_the_slot", "int_argument"])
def test_accepted_by_ours(obj, program):
    res = verify(obj, program=program, check=False)
    assert res.accepted, res.error


@pytest.mark.kernel
@pytest.mark.parametrize("program", ["void_subprog", "kconfig_picks_the_slot", "int_argument"])
def test_accepted_by_the_kernel_and_loaded_by_the_vm(obj, program):
    with ebpf.load(obj, backend="kernel", programs=[program]) as k:
        assert program in k.programs
    with ebpf.load(obj, backend="vm", programs=[program]) as v:
        assert program in v.programs


def test_without_kernel_facts_the_old_verdicts_stand(obj):
    """No kconfig values: both slots may be read, one through a modified ctx pointer."""
    spec = ObjectSpec.from_file(obj)
    res = verify_program(spec.programs["kconfig_picks_the_slot"], spec.maps)
    assert not res.accepted and "modified ctx ptr" in res.error


def test_reading_r0_after_a_void_call_is_still_refused():
    """The callee leaves R0 unset (a void subprogram); reading it in the caller is
    what the kernel refuses, at the read."""
    from ebpf.isa import assemble
    from ebpf.spec import ProgramSpec
    from ebpf.uapi import ProgramType

    insns = assemble("call 0x1 <pc+0x1>\nexit\nr1 = 0x0\nexit")
    ps = ProgramSpec(name="reads_void", type=ProgramType.SOCKET_FILTER, instructions=insns,
                     license="GPL")
    res = verify_program(ps)
    assert not res.accepted and "R0 !read_ok" in res.error and res.insn == 1


def test_a_callback_must_still_return(tmp_path):
    (tmp_path / "cb.bpf.c").write_text(CALLBACK_WITHOUT_RETURN)
    try:
        o = ebpf.compile(tmp_path / "cb.bpf.c", tmp_path / "cb.bpf.o")
    except ebpf.CompileError:
        pytest.skip("the compiler insists on a return value")
    res = verify(o, program="loop", check=False)
    assert not res.accepted
