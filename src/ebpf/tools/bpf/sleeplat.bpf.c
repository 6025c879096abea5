// SPDX-License-Identifier: GPL-2.0
/* sleeplat: how long clock_nanosleep() really sleeps, as a log2 histogram of
 * microseconds. Start times per thread in a hash, log2 slots in an array. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

#define HIST_SLOTS 32

const volatile __u32 target_tgid = 0;

HASH(start, __u32, __u64, 10240);
MAP(hist, BPF_MAP_TYPE_ARRAY, __u32, __u64, HIST_SLOTS);

SEC("tracepoint/syscalls/sys_enter_clock_nanosleep")
int sleep_enter(struct trace_event_raw_sys_enter *ctx)
{
	return thread_stamp(&start, target_tgid);
}

SEC("tracepoint/syscalls/sys_exit_clock_nanosleep")
int sleep_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 delta;

	if (thread_elapsed(&start, &delta))
		array_hist_add(&hist, delta / 1000, HIST_SLOTS);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
