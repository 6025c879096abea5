// SPDX-License-Identifier: GPL-2.0
/* A socket filter using every kind of global data: a .rodata constant set
 * before load, .data and .bss counters, a custom .data section, a hash map
 * keyed by a struct, a noinline BPF-to-BPF call and bpf_printk with 5 args. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct flow_key {
	__u16 eth_type;
	__u16 len_bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct flow_key);
	__type(value, __u64);
} flows SEC(".maps");

const volatile __u32 snap_len = 64;     /* .rodata */
__u32 packets = 0;                      /* .bss */
__u32 verdict_base = 1000;              /* .data */
__u64 big_packets SEC(".data.stats") = 0;

static __noinline __u16 bucket_of(__u32 len)
{
	if (len < 64)
		return 0;
	if (len < 512)
		return 1;
	return 2;
}

SEC("socket")
int socket_stats(struct __sk_buff *skb)
{
	struct flow_key key = {};
	__u64 one = 1, *cnt;
	__u8 first = 0;

	/* socket filters see the packet from the network header on */
	if (bpf_skb_load_bytes(skb, 0, &first, sizeof(first)) < 0)
		return 0;
	key.eth_type = bpf_ntohs(skb->protocol);
	key.len_bucket = bucket_of(skb->len);
	cnt = bpf_map_lookup_elem(&flows, &key);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	else
		bpf_map_update_elem(&flows, &key, &one, BPF_ANY);
	packets++;
	if (skb->len > 1000 || (first >> 4) == 15)
		big_packets++;
	if (key.eth_type == ETH_P_IPV6)
		bpf_printk("v6 packet len=%u bucket=%u n=%u base=%u snap=%u", skb->len,
			   key.len_bucket, packets, verdict_base, snap_len);
	return skb->len < snap_len ? skb->len : snap_len;
}

char LICENSE[] SEC("license") = "GPL";
