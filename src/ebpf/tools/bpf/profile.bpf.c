// SPDX-License-Identifier: GPL-2.0
/* profile: sample stacks on a timer (a perf event per CPU), count them by
 * (process, user stack, kernel stack). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

const volatile __u32 target_tgid = 0;	/* 0: every process */
const volatile __u32 target_tid = 0;	/* 0: every thread */
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
const volatile bool include_idle = false;
const volatile bool build_ids = false;	/* user stacks as (build id, file offset) frames */
const volatile bool per_thread = false;

STACKS(stacks, __u64, 16384, 0);

STACKS(build_id_stacks, struct bpf_stack_build_id, 4096, BPF_F_STACK_BUILD_ID);

HASH(counts, struct stack_key, __u64, 65536);

/* samples seen, and stack walks that failed (index 0: taken, 1: user lost, 2: kernel lost) */
MAP(stats, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, __u64, 3);

static __always_inline void bump(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		(*v)++;
}

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct stack_key key = {};

	if (!include_idle && tid == 0)
		return 0;
	if (target_tgid && tgid != target_tgid)
		return 0;
	if (target_tid && tid != target_tid)
		return 0;
	bump(0);
	key.pid = tgid;
	key.tid = per_thread ? tid : tgid;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	key.user_stack_id = -1;
	key.kernel_stack_id = -1;
	if (user_stacks) {
		if (build_ids)
			key.user_stack_id = bpf_get_stackid(ctx, &build_id_stacks, BPF_F_USER_STACK);
		else
			key.user_stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
		if (key.user_stack_id < 0)
			bump(1);
	}
	if (kernel_stacks) {
		key.kernel_stack_id = bpf_get_stackid(ctx, &stacks, 0);
		if (key.kernel_stack_id < 0)
			bump(2);
	}
	count_add(&counts, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
