// VLAN tagging from tc, as VLAN-aware bridges and QinQ gateways do it: push two
// tags (the second moves the first into the frame), pop them, in a chosen order.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8

__u32 ops;              /* 2 bits per step: 1 push 802.1Q, 2 push 802.1ad, 3 pop */
long rets[6];
__u32 seen[6][4];      /* vlan_present, vlan_tci, vlan_proto, protocol after each */

SEC("tc")
int tag(struct __sk_buff *skb)
{
	for (int i = 0; i < 6; i++) {
		__u32 op = (ops >> (2 * i)) & 3;

		if (op == 1)
			rets[i] = bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), 100 + i);
		else if (op == 2)
			rets[i] = bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021AD), 200 + i);
		else if (op == 3)
			rets[i] = bpf_skb_vlan_pop(skb);
		else
			rets[i] = 0;
		seen[i][0] = skb->vlan_present;
		seen[i][1] = skb->vlan_tci;
		seen[i][2] = skb->vlan_proto;
		seen[i][3] = skb->protocol;
	}
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
