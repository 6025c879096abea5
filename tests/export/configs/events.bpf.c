// SPDX-License-Identifier: GPL-2.0
/* Test config: one perf event per getppid() call, carrying the command name;
 * the exporter counts events per decoded label (perf_event_array: true). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct getppid_event {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} getppid_events_total SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct getppid_event ev = {};

	bpf_get_current_comm(ev.comm, sizeof(ev.comm));
	bpf_perf_event_output(ctx, &getppid_events_total, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
