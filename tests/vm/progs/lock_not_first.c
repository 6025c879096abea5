// A flow record whose spin lock comes after its counters (offset 48), as flow
// exporters lay them out.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct rec { __u64 packets, bytes, start, end, a, b; struct bpf_spin_lock lock; __u32 n; };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, struct rec);
} recs SEC(".maps");

SEC("tc")
int count(struct __sk_buff *skb)
{
	__u32 key = skb->len & 7;
	struct rec zero = {}, *r = bpf_map_lookup_elem(&recs, &key);

	if (!r) {
		bpf_map_update_elem(&recs, &key, &zero, BPF_NOEXIST);
		r = bpf_map_lookup_elem(&recs, &key);
		if (!r)
			return 2;
	}
	bpf_spin_lock(&r->lock);
	r->packets++;
	r->bytes += skb->len;
	r->n = r->packets * 2;
	bpf_spin_unlock(&r->lock);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
