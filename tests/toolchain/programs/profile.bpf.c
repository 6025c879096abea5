// SPDX-License-Identifier: GPL-2.0
/* A sampling profiler: perf_event programs record kernel and user stacks. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define MAX_STACK_DEPTH 127

struct key_t {
	u32 pid;
	s32 kern_stack;
	s32 user_stack;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(u64));
	__uint(max_entries, 1024);
} stackmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct key_t);
	__type(value, u64);
	__uint(max_entries, 4096);
} counts SEC(".maps");

const volatile bool kernel_only = false;

SEC("perf_event")
int profile(struct bpf_perf_event_data *ctx)
{
	struct key_t key = {};
	u64 *val, one = 1;

	key.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	key.kern_stack = bpf_get_stackid(&ctx->regs, &stackmap, 0);
	key.user_stack = kernel_only ? -1 : bpf_get_stackid(ctx, &stackmap, BPF_F_USER_STACK);
	val = bpf_map_lookup_elem(&counts, &key);
	if (val)
		__sync_fetch_and_add(val, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	if (PT_REGS_IP(&ctx->regs) == 0)
		bpf_printk("no ip");
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
