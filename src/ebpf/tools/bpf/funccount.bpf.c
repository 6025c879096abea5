// SPDX-License-Identifier: GPL-2.0
/* funccount: count calls of functions (uprobes) and tracepoint hits; each attach
 * point carries its index as the BPF cookie. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

#define MAX_TARGETS 4096

const volatile __u32 target_pid = 0;

MAP(counts, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, __u64, MAX_TARGETS);

static __always_inline int count(void *ctx)
{
	__u32 idx = (__u32)bpf_get_attach_cookie(ctx);
	__u64 *n;

	if (target_pid && (bpf_get_current_pid_tgid() >> 32) != target_pid)
		return 0;
	n = bpf_map_lookup_elem(&counts, &idx);
	if (n)
		(*n)++;
	return 0;
}

SEC("uprobe")
int count_uprobe(struct pt_regs *ctx) { return count(ctx); }

SEC("tracepoint")
int count_tracepoint(void *ctx) { return count(ctx); }

char LICENSE[] SEC("license") = "GPL";
