// xdp-tutorial packet03 / bpf-examples style router: bpf_fib_lookup from XDP.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define AF_INET 2
#define AF_INET6 10

const volatile __u32 ifindex = 1;
long rc_ok = -100, rc_small = -100, rc_flags = -100, rc_family = -100, rc_nodev = -100;
long rc_v6 = -100;

SEC("xdp")
int route(struct xdp_md *ctx)
{
	struct bpf_fib_lookup p = {};

	p.family = AF_INET;
	p.l4_protocol = IPPROTO_UDP;
	p.tot_len = 40;
	p.ipv4_src = 0x0100000a;
	p.ipv4_dst = 0x08080808;
	p.ifindex = ifindex;
	rc_ok = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	rc_small = bpf_fib_lookup(ctx, &p, sizeof(p) - 8, 0);
	rc_flags = bpf_fib_lookup(ctx, &p, sizeof(p), 1 << 20);
	p.ifindex = 0x7ffffff0;
	rc_nodev = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	p.ifindex = ifindex;
	p.family = 99;
	rc_family = bpf_fib_lookup(ctx, &p, sizeof(p), 0);
	p.family = AF_INET6;
	p.ipv6_dst[0] = 0x000db820;
	rc_v6 = bpf_fib_lookup(ctx, &p, sizeof(p), BPF_FIB_LOOKUP_OUTPUT);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
