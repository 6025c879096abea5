// SPDX-License-Identifier: GPL-2.0
/* CO-RE and loader-resolved externs: BTF-typed tracepoints (tp_btf),
 * BPF_PROG, field/type/enum queries, chains of BPF_CORE_READ,
 * Kconfig and kernel-symbol externs, bpf_for/bpf_for_each/bpf_repeat loops,
 * bpf_core_cast, a per-task stat map. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

extern int LINUX_KERNEL_VERSION __kconfig;
extern bool CONFIG_PREEMPT __kconfig __weak;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig __weak;
extern const void schedule __ksym __weak;             /* a kernel function: present */
extern const void ebpf_no_such_symbol __ksym __weak;  /* absent: resolves to 0 */

struct switch_stat {
	u64 switches;
	u64 prio_sum;
	u32 last_state;
	u32 loop_sum;
	u32 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct switch_stat);
} stats SEC(".maps");

/* a flavour of task_struct with a field that may be missing in the kernel */
struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

u64 version_seen = 0;
u32 have_active = 0;

static __always_inline u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___old *)t, state);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct switch_stat zero = {}, *st;
	u32 pid = BPF_CORE_READ(prev, pid);
	int i, sum = 0;

	st = bpf_map_lookup_elem(&stats, &pid);
	if (!st) {
		bpf_map_update_elem(&stats, &pid, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&stats, &pid);
		if (!st)
			return 0;
	}
	st->switches++;
	st->prio_sum += prev->prio;  /* direct BTF access in tp_btf */
	st->last_state = task_state(prev);
	st->flags = 0;
	int *v;

	bpf_for(i, 0, 8)
		sum += i;
	bpf_for_each(num, v, 10, 13)   /* 10 + 11 + 12 */
		sum += *v;
	bpf_repeat(2)
		sum += 100;
	st->loop_sum = sum;
	version_seen = LINUX_KERNEL_VERSION;
	have_active = (bpf_ksym_exists(&schedule) ? 1 : 0) |
		      (bpf_ksym_exists(&ebpf_no_such_symbol) ? 2 : 0);
	if (CONFIG_PREEMPT && CONFIG_BPF_JIT == TRI_YES)
		st->flags |= 4;
	if (bpf_core_type_exists(struct task_struct) &&
	    bpf_core_field_size(struct task_struct, pid) == 4 &&
	    bpf_core_field_offset(struct task_struct, pid) > 0 &&
	    bpf_core_enum_value_exists(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF))
		st->flags |= 8 | (bpf_core_enum_value(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF) << 8);
	if (bpf_core_cast(prev, struct task_struct)->pid == pid &&
	    bpf_core_type_size(struct task_struct) > 0 &&
	    bpf_core_type_id_kernel(struct task_struct) > 0)
		st->flags |= 16;
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	char comm[16];

	BPF_CORE_READ_STR_INTO(&comm, child, group_leader, comm);
	bpf_printk("fork %d -> %d %s", BPF_CORE_READ(parent, tgid), BPF_CORE_READ(child, pid),
		   comm);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
