// SPDX-License-Identifier: GPL-2.0
/* stackcount: count the stacks that lead to an event (a tracepoint or a
 * uprobe), by (process, user stack, kernel stack). */
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

const volatile __u32 target_tgid = 0;
const volatile bool user_stacks = true;
const volatile bool kernel_stacks = true;
const volatile bool per_pid = false;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_DEPTH * sizeof(__u64));
	__uint(max_entries, 16384);
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct key_t);
	__type(value, __u64);
} counts SEC(".maps");

static __always_inline int count(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct key_t key = {};
	__u64 one = 1, *n;

	if (target_tgid && tgid != target_tgid)
		return 0;
	key.pid = tgid;	/* always: user stacks need their process to be symbolized */
	key.tid = tgid;
	if (per_pid)	/* the name splits the counts by process in the output */
		bpf_get_current_comm(&key.comm, sizeof(key.comm));
	key.user_stack_id = user_stacks ? bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK) : -1;
	key.kernel_stack_id = kernel_stacks ? bpf_get_stackid(ctx, &stacks, 0) : -1;
	n = bpf_map_lookup_elem(&counts, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST))
		if ((n = bpf_map_lookup_elem(&counts, &key)))
			__sync_fetch_and_add(n, 1);
	return 0;
}

SEC("uprobe")
int stackcount_uprobe(struct pt_regs *ctx)
{
	return count(ctx);
}

SEC("tracepoint")
int stackcount_tracepoint(void *ctx)
{
	return count(ctx);
}

char LICENSE[] SEC("license") = "GPL";
