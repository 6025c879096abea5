// A socket filter: keeps IPv4 UDP packets, counts bytes per IP protocol.
// Like a filter on an IP socket, it sees packets from the network header on.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u64);
} bytes_by_proto SEC(".maps");

SEC("socket")
int udp_only(struct __sk_buff *skb)
{
	__u8 ipproto;

	if (skb->protocol != bpf_htons(0x0800))
		return 0;
	if (bpf_skb_load_bytes(skb, 9, &ipproto, 1) < 0)
		return 0;
	__u32 key = ipproto;
	__u64 *v = bpf_map_lookup_elem(&bytes_by_proto, &key);
	if (v)
		__sync_fetch_and_add(v, skb->len);
	return ipproto == 17 ? skb->len : 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
