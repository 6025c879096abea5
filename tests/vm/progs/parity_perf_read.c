// Reading a perf counter from a PERF_EVENT_ARRAY slot, as profilers' runqlat-style
// tools do: without a counter in the slot, and with bad indexes and flags.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} counters SEC(".maps");

long rets[7] = {9, 9, 9, 9, 9, 9, 9};
struct bpf_perf_event_value val = {.counter = 1, .enabled = 2, .running = 3};

SEC("tc")
int read_counters(struct __sk_buff *skb)
{
	rets[0] = bpf_perf_event_read(&counters, 0);
	rets[1] = bpf_perf_event_read(&counters, 9);
	rets[2] = bpf_perf_event_read(&counters, 1ull << 40);
	rets[3] = bpf_perf_event_read(&counters, BPF_F_CURRENT_CPU);
	rets[4] = bpf_perf_event_read_value(&counters, 1, &val, sizeof(val));
	rets[5] = bpf_perf_event_read_value(&counters, 1, &val, 8);
	rets[6] = bpf_perf_event_read_value(&counters, 7, &val, sizeof(val));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
