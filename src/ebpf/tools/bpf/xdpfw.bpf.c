// SPDX-License-Identifier: GPL-2.0
/* xdpfw: an XDP firewall. Drops IPv4/IPv6 TCP and UDP packets whose
 * destination port is in the blocked_ports map (filled from user space),
 * passes the rest, and counts both per destination port and in total. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct port_stats {
	__u64 passed;
	__u64 dropped;
};

/* destination port (host order) -> anything: drop */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u16);
	__type(value, __u8);
} blocked_ports SEC(".maps");

/* destination port (host order) -> packets passed/dropped, per CPU */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u16);
	__type(value, struct port_stats);
} port_counters SEC(".maps");

/* XDP action (XDP_DROP=1, XDP_PASS=2) -> packets, per CPU */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 5);
	__type(key, __u32);
	__type(value, __u64);
} action_counters SEC(".maps");

static __always_inline int count(__u32 action)
{
	__u64 *n = bpf_map_lookup_elem(&action_counters, &action);

	if (n)
		*n += 1;
	return action;
}

/* returns the destination port, or -1 when the packet is not TCP/UDP */
static __always_inline int dest_port(void *l4, void *data_end, __u8 proto)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return -1;
		return bpf_ntohs(th->dest);
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return -1;
		return bpf_ntohs(uh->dest);
	}
	return -1;
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct port_stats *st, zero = {};
	void *l4;
	__u8 proto;
	__u16 port;
	int p;

	if ((void *)(eth + 1) > data_end)
		return count(XDP_PASS);
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end || iph->ihl < 5)
			return count(XDP_PASS);
		proto = iph->protocol;
		l4 = (void *)iph + iph->ihl * 4;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6h = (void *)(eth + 1);

		if ((void *)(ip6h + 1) > data_end)
			return count(XDP_PASS);
		proto = ip6h->nexthdr;
		l4 = ip6h + 1;
	} else {
		return count(XDP_PASS);
	}
	p = dest_port(l4, data_end, proto);
	if (p < 0)
		return count(XDP_PASS);
	port = p;

	st = bpf_map_lookup_elem(&port_counters, &port);
	if (!st) {
		bpf_map_update_elem(&port_counters, &port, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&port_counters, &port);
		if (!st)
			return count(XDP_PASS);
	}
	if (bpf_map_lookup_elem(&blocked_ports, &port)) {
		st->dropped++;
		return count(XDP_DROP);
	}
	st->passed++;
	return count(XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
