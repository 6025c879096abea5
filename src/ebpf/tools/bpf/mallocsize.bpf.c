// SPDX-License-Identifier: GPL-2.0
/* mallocsize: a uprobe on libc's malloc(): log2 histogram of requested sizes
 * and bytes asked for per process. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_SLOTS 48

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} size_hist SEC(".maps");

struct totals {
	__u64 calls;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct totals);
} per_pid SEC(".maps");

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

SEC("uprobe")
int BPF_UPROBE(malloc_enter, size_t size)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u32 slot = log2_u64(size);
	struct totals *t, zero = {};
	__u64 *n;

	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	n = bpf_map_lookup_elem(&size_hist, &slot);
	if (n)
		__sync_fetch_and_add(n, 1);
	t = bpf_map_lookup_elem(&per_pid, &pid);
	if (!t) {
		bpf_map_update_elem(&per_pid, &pid, &zero, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&per_pid, &pid);
		if (!t)
			return 0;
	}
	__sync_fetch_and_add(&t->calls, 1);
	__sync_fetch_and_add(&t->bytes, size);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
