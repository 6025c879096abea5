// NAT64 in tc (bpf-examples nat64): bpf_skb_change_proto between IPv4 and IPv6.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u16 to = 0;
__u64 flags = 0;
long ret = -100;
__u32 proto_after = 0, len_after = 0;

SEC("tc")
int change(struct __sk_buff *skb)
{
	ret = bpf_skb_change_proto(skb, bpf_htons(to), flags);
	proto_after = skb->protocol;
	len_after = skb->len;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
