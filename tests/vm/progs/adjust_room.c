// Encapsulation/decapsulation in tc (encap-forward, cilium overlays):
// bpf_skb_adjust_room with its modes and flags.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

__s32 len_diff = 0;
__u32 mode = 0;
__u64 flags = 0;
long ret = -100;
__u32 proto_after = 0, len_after = 0;

SEC("tc")
int adjust(struct __sk_buff *skb)
{
	ret = bpf_skb_adjust_room(skb, len_diff, mode, flags);
	proto_after = skb->protocol;
	len_after = skb->len;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
