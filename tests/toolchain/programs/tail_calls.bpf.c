// SPDX-License-Identifier: GPL-2.0
/* A dispatcher that tail-calls a handler per packet kind, with the program
 * array filled statically in .maps (libbpf-style __array(values, ...)). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define STAGE_IPV4 0
#define STAGE_IPV6 1
#define STAGE_OTHER 2

int stage_hits[3] = {};

SEC("xdp")
int handle_ipv4(struct xdp_md *ctx)
{
	stage_hits[STAGE_IPV4]++;
	return XDP_DROP;
}

SEC("xdp")
int handle_ipv6(struct xdp_md *ctx)
{
	stage_hits[STAGE_IPV6]++;
	return XDP_TX;
}

SEC("xdp")
int handle_other(struct xdp_md *ctx)
{
	stage_hits[STAGE_OTHER]++;
	return XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 3);
	__uint(key_size, sizeof(__u32));
	__array(values, int (struct xdp_md *));
} jump_table SEC(".maps") = {
	.values = {
		[STAGE_IPV4] = (void *)&handle_ipv4,
		[STAGE_IPV6] = (void *)&handle_ipv6,
		[STAGE_OTHER] = (void *)&handle_other,
	},
};

SEC("xdp")
int dispatch(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		bpf_tail_call_static(ctx, &jump_table, STAGE_IPV4);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		bpf_tail_call_static(ctx, &jump_table, STAGE_IPV6);
	else
		bpf_tail_call(ctx, &jump_table, STAGE_OTHER);
	/* only reached when the slot is empty */
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
