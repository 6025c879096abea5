// SPDX-License-Identifier: GPL-2.0
/* A tc classifier in the libbpf-bootstrap "tc" style: look at the Ethernet
 * type of each packet, count IPv4 ones and mark them. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define TC_MARK 0x2a

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

SEC("tc")
int tc_ingress(struct __sk_buff *ctx)
{
	void *data_end = (void *)(__u64)ctx->data_end;
	void *data = (void *)(__u64)ctx->data;
	struct ethhdr *l2;
	struct iphdr *l3;
	__u32 key = 0;
	__u64 *val;
	__u8 ttl;

	if (ctx->protocol != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	l2 = data;
	if ((void *)(l2 + 1) > data_end)
		return TC_ACT_OK;
	l3 = (struct iphdr *)(l2 + 1);
	if ((void *)(l3 + 1) > data_end)
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(ctx, sizeof(*l2) + offsetof(struct iphdr, ttl), &ttl, 1) < 0)
		return TC_ACT_SHOT;
	val = bpf_map_lookup_elem(&counters, &key);
	if (val)
		__sync_fetch_and_add(val, 1);
	key = 1;
	val = bpf_map_lookup_elem(&counters, &key);
	if (val)
		*val = ttl;
	ctx->mark = TC_MARK;
	bpf_printk("Got IP packet: tot_len: %d, ttl: %d", bpf_ntohs(l3->tot_len), l3->ttl);
	return TC_ACT_OK;
}

char __license[] SEC("license") = "GPL";
