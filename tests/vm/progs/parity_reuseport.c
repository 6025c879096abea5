// An SO_REUSEPORT dispatcher, as load balancers and QUIC servers write them:
// the first payload byte of a datagram names the socket that gets it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
} socks SEC(".maps");

long rets[256];
__u32 lens[256], protos[256];

SEC("sk_reuseport")
int pick(struct sk_reuseport_md *md)
{
	__u8 *data = md->data, *end = md->data_end;
	__u32 sel, key;

	if (data + 9 > end)
		return SK_PASS;
	sel = data[8];
	lens[sel] = md->len;
	protos[sel] = md->ip_protocol;
	if (sel == 0xff)
		return SK_DROP;
	key = sel;
	rets[sel & 0xff] = bpf_sk_select_reuseport(md, &socks, &key, 0);
	return SK_PASS;
}

char LICENSE[] SEC("license") = "GPL";
