// A flow dissector in the style of the kernel selftests' bpf_flow.c: IPv4/IPv6,
// TCP/UDP ports, VLAN through bpf_skb_load_bytes (which has no skb to read in a
// test run: -EFAULT), honouring the stop flags.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100
#define IP_MF		0x2000
#define IP_OFFSET	0x1FFF

__u32 runs = 0;

static __always_inline int ports(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u8 proto)
{
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	__be16 *p = data + (keys->thoff & 0x7f);

	keys->ip_proto = proto;
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return BPF_OK;
	if (keys->is_frag && !keys->is_first_frag)
		return BPF_OK;
	if ((void *)(p + 2) > data_end)
		return BPF_DROP;
	keys->sport = p[0];
	keys->dport = p[1];
	return BPF_OK;
}

SEC("flow_dissector")
int dissect(struct __sk_buff *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;
	void *data = (void *)(long)skb->data, *data_end = (void *)(long)skb->data_end;
	__be16 proto = keys->n_proto;
	__u16 nhoff = keys->nhoff;

	__sync_fetch_and_add(&runs, 1);
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr vlan;

		if (bpf_skb_load_bytes(skb, nhoff, &vlan, sizeof(vlan)))
			return BPF_DROP;
		proto = vlan.h_vlan_encapsulated_proto;
		nhoff += sizeof(vlan);
		keys->nhoff = nhoff;
		keys->n_proto = proto;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		/* direct packet access at a bounded offset */
		struct iphdr *ip = data + (nhoff & 0x3f);

		if ((void *)(ip + 1) > data_end)
			return BPF_DROP;
		if (ip->ihl < 5)
			return BPF_DROP;
		keys->addr_proto = ETH_P_IP;
		keys->ipv4_src = ip->saddr;
		keys->ipv4_dst = ip->daddr;
		keys->thoff = nhoff + (ip->ihl << 2);
		if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET)) {
			keys->is_frag = 1;
			if (ip->frag_off & bpf_htons(IP_OFFSET))
				return BPF_OK;
			keys->is_first_frag = 1;
			if (!(keys->flags & BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG))
				return BPF_OK;
		}
		return ports(skb, keys, ip->protocol);
	}
	if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + (nhoff & 0x3f);

		if ((void *)(ip6 + 1) > data_end)
			return BPF_DROP;
		keys->addr_proto = ETH_P_IPV6;
		__builtin_memcpy(keys->ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(keys->ipv6_dst, &ip6->daddr, 16);
		keys->thoff = nhoff + sizeof(*ip6);
		keys->flow_label = *(__be32 *)ip6 & bpf_htonl(0xFFFFF);
		if (keys->flow_label && (keys->flags & BPF_FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL))
			return BPF_OK;
		return ports(skb, keys, ip6->nexthdr);
	}
	/* unknown: push thoff past the end, the kernel clamps it */
	keys->thoff = 0xFFFF;
	return BPF_DROP;
}

char LICENSE[] SEC("license") = "GPL";
