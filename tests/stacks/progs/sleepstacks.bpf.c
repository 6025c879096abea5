// SPDX-License-Identifier: GPL-2.0
/* Count clock_nanosleep() calls by (process, kernel stack, user stack). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct key_t {
	__u32 pid;
	__s32 kern_stack_id;
	__s32 user_stack_id;
	char comm[16];
};

const volatile __u32 target_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 127 * sizeof(__u64));
	__uint(max_entries, 1024);
} stack_traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct key_t);
	__type(value, __u64);
} sleeps SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_clock_nanosleep")
int on_sleep(void *ctx)
{
	struct key_t key = {};
	__u64 one = 1, *n;

	key.pid = bpf_get_current_pid_tgid() >> 32;
	if (target_pid && key.pid != target_pid)
		return 0;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	key.kern_stack_id = bpf_get_stackid(ctx, &stack_traces, 0);
	key.user_stack_id = bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK);
	n = bpf_map_lookup_elem(&sleeps, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&sleeps, &key, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
