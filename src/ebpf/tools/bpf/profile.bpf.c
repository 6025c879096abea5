// SPDX-License-Identifier: GPL-2.0
/* profile: sample stacks on a timer (a perf event per CPU), count them by
 * (process, user stack, kernel stack). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define MAX_DEPTH 127
#define TASK_COMM_LEN 16

struct key_t {
	__u32 pid;
	__u32 tid;
	__s32 user_stack_id;
	__s32 kernel_stack_id;
	char comm[TASK_COMM_LEN];
};

const volatile __u32 target_tgid = 0;	/* 0: every process */
const volatile __u32 target_tid = 0;	/* 0: every thread */
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
const volatile bool include_idle = false;
const volatile bool build_ids = false;	/* user stacks as (build id, file offset) frames */
const volatile bool per_thread = false;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_DEPTH * sizeof(__u64));
	__uint(max_entries, 16384);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_DEPTH * sizeof(struct bpf_stack_build_id));
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_STACK_BUILD_ID);
} build_id_stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct key_t);
	__type(value, __u64);
} counts SEC(".maps");

/* samples seen, and stack walks that failed (index 0: taken, 1: user lost, 2: kernel lost) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

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
	struct key_t key = {};
	__u64 one = 1, *n;

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
	n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST))
		if ((n = bpf_map_lookup_elem(&counts, &key)))	/* another CPU added it first */
			__sync_fetch_and_add(n, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
