// An XDP SYN proxy answering for a listener, as xdp_synproxy does in its
// socket mode: the listener found by lookup issues the cookie and checks it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__s64 ret;
__u32 found, th_len_in, iph_len_in;

SEC("xdp")
int proxy(struct xdp_md *ctx)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u8 ip[40], th[64];
	__u32 len, ilen;

	if (bpf_xdp_load_bytes(ctx, 14, ip, sizeof(ip)) ||
	    bpf_xdp_load_bytes(ctx, 34, th, sizeof(th)))
		return XDP_DROP;
	__builtin_memcpy(&t.ipv4.saddr, ip + 12, 4);
	__builtin_memcpy(&t.ipv4.daddr, ip + 16, 4);
	__builtin_memcpy(&t.ipv4.sport, th, 2);
	__builtin_memcpy(&t.ipv4.dport, th + 2, 2);
	sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	found = sk != 0;
	if (!sk)
		return XDP_PASS;
	len = th_len_in ? th_len_in : (th[12] >> 4) * 4;
	len = ((len - 1) & 63) + 1;
	ilen = iph_len_in ? iph_len_in : 20;
	ilen = ((ilen - 1) & 31) + 1;
	if (th[13] & 0x10)
		ret = bpf_tcp_check_syncookie(sk, ip, ilen, (void *)th, len);
	else
		ret = bpf_tcp_gen_syncookie(sk, ip, ilen, (void *)th, len);
	bpf_sk_release(sk);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
