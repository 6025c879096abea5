// SPDX-License-Identifier: GPL-2.0
/* Bitfields of kernel structs read with CO-RE, both ways: a direct load in a
 * BTF-enabled program and through bpf_probe_read_kernel. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

u32 reset_on_fork_seen = 0;
u32 contributes_seen = 0;
u64 samples = 0;

SEC("tp_btf/sched_switch")
int BPF_PROG(bits, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	/* both are 1-bit fields: anything other than 0/1 means a bad relocation */
	reset_on_fork_seen |= 1u << BPF_CORE_READ_BITFIELD(prev, sched_reset_on_fork);
	contributes_seen |= 1u << BPF_CORE_READ_BITFIELD_PROBED(next, sched_contributes_to_load);
	samples++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
