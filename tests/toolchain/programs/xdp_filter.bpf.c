// SPDX-License-Identifier: GPL-2.0
/* Parse Ethernet / VLAN / IPv4 / IPv6 / UDP / TCP, count packets per IP
 * protocol, and drop UDP datagrams sent to a configurable port. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef VLAN_HLEN
#define VLAN_HLEN 4
#endif

struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

struct datarec {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, struct datarec);
} proto_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __be32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_NONE);
} src_addrs SEC(".maps");

const volatile __u16 blocked_port = 9;  /* host order, set before load */
__u64 dropped = 0;                      /* .bss */
__u32 seen_tcp_syn = 0;

struct hdr_cursor {
	void *pos;
};

static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end,
					 struct ethhdr **ethhdr)
{
	struct ethhdr *eth = nh->pos;
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return -1;
	nh->pos = eth + 1;
	*ethhdr = eth;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vlh = nh->pos;

		if ((void *)(vlh + 1) > data_end)
			return -1;
		nh->pos = vlh + 1;
		proto = vlh->h_vlan_encapsulated_proto;
	}
	return proto;
}

static __always_inline void account(__u32 key, __u64 bytes)
{
	struct datarec *rec = bpf_map_lookup_elem(&proto_stats, &key);

	if (!rec)
		return;
	rec->packets++;
	rec->bytes += bytes;
}

SEC("xdp")
int xdp_filter_prog(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	struct udphdr *udp = NULL;
	struct tcphdr *tcp = NULL;
	__u8 l4 = 0;
	int eth_type;

	eth_type = parse_ethhdr(&nh, data_end, &eth);
	switch (eth_type) {
	case bpf_htons(ETH_P_IP): {
		struct iphdr *iph = nh.pos;
		__u64 one = 1, *cnt;

		if ((void *)(iph + 1) > data_end)
			return XDP_ABORTED;
		if (iph->ihl < 5)
			return XDP_DROP;
		nh.pos = (void *)iph + iph->ihl * 4;
		l4 = iph->protocol;
		cnt = bpf_map_lookup_elem(&src_addrs, &iph->saddr);
		if (cnt)
			__sync_fetch_and_add(cnt, 1);
		else
			bpf_map_update_elem(&src_addrs, &iph->saddr, &one, BPF_NOEXIST);
		break;
	}
	case bpf_htons(ETH_P_IPV6): {
		struct ipv6hdr *ip6h = nh.pos;

		if ((void *)(ip6h + 1) > data_end)
			return XDP_ABORTED;
		nh.pos = ip6h + 1;
		l4 = ip6h->nexthdr;
		break;
	}
	default:
		return XDP_PASS;
	}

	account(l4, data_end - data);
	if (l4 == IPPROTO_UDP) {
		udp = nh.pos;
		if ((void *)(udp + 1) > data_end)
			return XDP_ABORTED;
		if (bpf_ntohs(udp->dest) == blocked_port) {
			__sync_fetch_and_add(&dropped, 1);
			return XDP_DROP;
		}
	} else if (l4 == IPPROTO_TCP) {
		tcp = nh.pos;
		if ((void *)(tcp + 1) > data_end)
			return XDP_ABORTED;
		if (tcp->syn && !tcp->ack)
			seen_tcp_syn++;
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
