// SPDX-License-Identifier: GPL-2.0
/* sockfilter: a socket filter for a UDP socket. Counts datagrams and bytes
 * per source port and drops those from blocked source ports or shorter than
 * min_payload bytes. On a UDP socket the filter sees the datagram from its
 * UDP header on. */
#include <linux/bpf.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct stats {
	__u64 packets;
	__u64 bytes;
	__u64 dropped;
};

const volatile __u32 min_payload = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, struct stats);
} by_source_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u16);
	__type(value, __u8);
} blocked_sources SEC(".maps");

SEC("socket")
int udp_filter(struct __sk_buff *skb)
{
	struct udphdr uh;
	struct stats *st, zero = {};
	__u32 payload;
	__u16 sport;

	if (bpf_skb_load_bytes(skb, 0, &uh, sizeof(uh)) < 0)
		return skb->len;  /* not what we expected: keep it */
	sport = bpf_ntohs(uh.source);
	payload = skb->len > sizeof(uh) ? skb->len - sizeof(uh) : 0;

	st = bpf_map_lookup_elem(&by_source_port, &sport);
	if (!st) {
		bpf_map_update_elem(&by_source_port, &sport, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&by_source_port, &sport);
		if (!st)
			return skb->len;
	}
	__sync_fetch_and_add(&st->packets, 1);
	__sync_fetch_and_add(&st->bytes, payload);
	if (payload < min_payload || bpf_map_lookup_elem(&blocked_sources, &sport)) {
		__sync_fetch_and_add(&st->dropped, 1);
		return 0;  /* drop */
	}
	return skb->len;  /* keep the whole datagram */
}

char LICENSE[] SEC("license") = "GPL";
