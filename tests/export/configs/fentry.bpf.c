// SPDX-License-Identifier: GPL-2.0
/* Test config that needs fentry (BPF trampolines, refused under lockdown). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} sleep_calls_total SEC(".maps");

SEC("fentry/hrtimer_nanosleep")
int BPF_PROG(count_nanosleep)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&sleep_calls_total, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
