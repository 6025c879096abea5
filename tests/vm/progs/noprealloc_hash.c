// A flow table as flow exporters declare it: a hash of 16M entries the kernel
// allocates element by element (BPF_F_NO_PREALLOC). Each run adds `count` (at most 32) keys
// from `first` and keeps the last update's result.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct flow_metrics { __u64 packets, bytes, start, end; __u32 flags[8]; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 24);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct flow_metrics);
} flows SEC(".maps");

__u64 first;
__u32 count;
long last_err;

SEC("tc")
int add_flows(struct __sk_buff *skb)
{
	struct flow_metrics m = { .packets = 1, .bytes = skb->len };

	for (__u32 i = 0; i < count && i < 32; i++) {
		__u64 key = first + i;
		long err = bpf_map_update_elem(&flows, &key, &m, BPF_NOEXIST);

		if (err)
			last_err = err;
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
