// SPDX-License-Identifier: GPL-2.0
/* Stacks in the vm: bpf_get_stack and bpf_get_stackid called three BPF-to-BPF
 * calls deep. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 64);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 16 * sizeof(__u64));
} stacks SEC(".maps");

__u64 frames[16];
long nbytes = -1;
long stack_id = -1;
long stack_id_again = -1;
long skipped = -1;

static __attribute__((noinline)) int leaf(void *ctx)
{
	nbytes = bpf_get_stack(ctx, frames, sizeof(frames), 0);
	stack_id = bpf_get_stackid(ctx, &stacks, 0);
	skipped = bpf_get_stack(ctx, &frames[8], 8 * sizeof(__u64), 1);
	return 0;
}

static __attribute__((noinline)) int middle(void *ctx)
{
	return leaf(ctx) + 1;
}

static __attribute__((noinline)) int again(void *ctx)
{
	stack_id_again = bpf_get_stackid(ctx, &stacks, 0);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int top(void *ctx)
{
	middle(ctx);
	again(ctx);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
