// A tc program steering a packet to a local listener (as transparent proxies do).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define TC_ACT_OK 0

__u64 flags_in;
long ret;
__u32 found;

SEC("tc")
int steer(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u8 ip[20], th[4];

	if (bpf_skb_load_bytes(skb, 14, ip, sizeof(ip)) ||
	    bpf_skb_load_bytes(skb, 34, th, sizeof(th)))
		return TC_ACT_OK;
	__builtin_memcpy(&t.ipv4.saddr, ip + 12, 4);
	__builtin_memcpy(&t.ipv4.daddr, ip + 16, 4);
	__builtin_memcpy(&t.ipv4.sport, th, 2);
	__builtin_memcpy(&t.ipv4.dport, th + 2, 2);
	sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	found = sk != 0;
	if (!sk)
		return TC_ACT_OK;
	ret = bpf_sk_assign(skb, sk, flags_in);
	bpf_sk_release(sk);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
