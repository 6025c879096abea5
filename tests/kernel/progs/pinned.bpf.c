// A map pinned by name, shared by every load of this object.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shared_counts SEC(".maps");

SEC("socket")
int count(struct __sk_buff *skb)
{
	__u32 k = skb->len;
	__u64 one = 1, *v = bpf_map_lookup_elem(&shared_counts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&shared_counts, &k, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
