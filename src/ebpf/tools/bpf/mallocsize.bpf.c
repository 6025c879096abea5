// SPDX-License-Identifier: GPL-2.0
/* mallocsize: a uprobe on libc's malloc(): log2 histogram of requested sizes
 * and bytes asked for per process. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tools.h"

#define SIZE_SLOTS 48

struct totals {
	__u64 calls;
	__u64 bytes;
};

MAP(size_hist, BPF_MAP_TYPE_ARRAY, __u32, __u64, SIZE_SLOTS);
HASH(per_pid, __u32, struct totals, 1024);

SEC("uprobe")
int BPF_UPROBE(malloc_enter, size_t size)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	static const struct totals zero;
	struct totals *t;

	array_hist_add(&size_hist, size, SIZE_SLOTS);
	t = lookup_or_init(&per_pid, &pid, &zero);
	if (!t)
		return 0;
	__sync_fetch_and_add(&t->calls, 1);
	__sync_fetch_and_add(&t->bytes, size);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
