// Flow hashing in tc (cilium bpf_lxc/netdev, preserve-dscp): bpf_get_hash_recalc,
// then skb->hash; bpf_set_hash_invalid / bpf_set_hash.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__u32 recalc = 0, field_after = 0, field_before = 0;
__u32 after_invalid = 1, after_set = 0;
long set_ret = 1;

SEC("tc")
int hash_it(struct __sk_buff *skb)
{
	field_before = skb->hash;
	recalc = bpf_get_hash_recalc(skb);
	field_after = skb->hash;
	bpf_set_hash_invalid(skb);
	after_invalid = skb->hash;
	set_ret = bpf_set_hash(skb, 0x1234);
	after_set = skb->hash;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
