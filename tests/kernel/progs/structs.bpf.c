// A map with a struct value and a char-array field, read back through BTF.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct pkt_flow_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
};

struct pkt_flow_stats {
	__u64 packets;
	__u64 bytes;
	char label[8];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, struct pkt_flow_key);
	__type(value, struct pkt_flow_stats);
} flows SEC(".maps");

SEC("xdp")
int count_flow(struct xdp_md *ctx)
{
	struct pkt_flow_key k = { .saddr = 1, .daddr = 2, .sport = 3, .dport = 4 };
	struct pkt_flow_stats *s = bpf_map_lookup_elem(&flows, &k);
	if (s) {
		__sync_fetch_and_add(&s->packets, 1);
		__sync_fetch_and_add(&s->bytes, ctx->data_end - ctx->data);
	} else {
		struct pkt_flow_stats init = { .packets = 1, .bytes = ctx->data_end - ctx->data,
					   .label = "first" };
		bpf_map_update_elem(&flows, &k, &init, BPF_NOEXIST);
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
