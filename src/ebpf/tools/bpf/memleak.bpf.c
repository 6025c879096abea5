// SPDX-License-Identifier: GPL-2.0
/* memleak: outstanding user allocations by stack: uprobes on the allocator
 * (malloc, calloc, realloc, free and friends) of one process. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tools.h"

struct alloc_info {
	__u64 size;
	__u64 ts_ns;
	__s64 stack_id;
};

const volatile __u64 min_size = 0;
const volatile __u64 max_size = 0;
const volatile __u32 sample_every = 1;

HASH(sizes, __u32, __u64, 10240);

HASH(allocs, __u64, struct alloc_info, 1000000);

STACKS(stacks, __u64, 10240, 0);

static __always_inline int enter(__u64 size)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (min_size && size < min_size)
		return 0;
	if (max_size && size > max_size)
		return 0;
	if (sample_every > 1 && bpf_ktime_get_ns() % sample_every)
		return 0;
	bpf_map_update_elem(&sizes, &tid, &size, BPF_ANY);
	return 0;
}

static __always_inline int leave(struct pt_regs *ctx, __u64 addr)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 *size = bpf_map_lookup_elem(&sizes, &tid);
	struct alloc_info info = {};

	if (!size)
		return 0;
	info.size = *size;
	bpf_map_delete_elem(&sizes, &tid);
	if (!addr)
		return 0;
	info.ts_ns = bpf_ktime_get_ns();
	info.stack_id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	bpf_map_update_elem(&allocs, &addr, &info, BPF_ANY);
	return 0;
}

static __always_inline int gone(__u64 addr)
{
	bpf_map_delete_elem(&allocs, &addr);
	return 0;
}

SEC("uprobe")
int BPF_UPROBE(malloc_enter, size_t size) { return enter(size); }
SEC("uretprobe")
int BPF_URETPROBE(malloc_exit, void *ret) { return leave(ctx, (__u64)ret); }
SEC("uprobe")
int BPF_UPROBE(calloc_enter, size_t n, size_t size) { return enter(n * size); }
SEC("uretprobe")
int BPF_URETPROBE(calloc_exit, void *ret) { return leave(ctx, (__u64)ret); }
SEC("uprobe")
int BPF_UPROBE(realloc_enter, void *ptr, size_t size)
{
	gone((__u64)ptr);
	return enter(size);
}
SEC("uretprobe")
int BPF_URETPROBE(realloc_exit, void *ret) { return leave(ctx, (__u64)ret); }
SEC("uprobe")
int BPF_UPROBE(aligned_enter, size_t align, size_t size) { return enter(size); }
SEC("uretprobe")
int BPF_URETPROBE(aligned_exit, void *ret) { return leave(ctx, (__u64)ret); }
SEC("uprobe")
int BPF_UPROBE(free_enter, void *ptr) { return gone((__u64)ptr); }

char LICENSE[] SEC("license") = "GPL";
