// Socket lookups from tc, as SYN proxies and socket-steering programs do them:
// a TCP listener, an established connection, a bound UDP socket, and misses.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u32 saddr, daddr;           /* network order, as in a packet */
__u16 sport, dport;           /* host order, converted below */
__u32 flags_in, size_in = sizeof(((struct bpf_sock_tuple *)0)->ipv4);
long netns_in = BPF_F_CURRENT_NETNS;
long found[3] = {9, 9, 9};
long fullsock = 9, listener = 9;
__u32 state[3], family[3], protocol[3], src_port[3], dst_port[3], src_ip4[3], dst_ip4[3];

static void show(int i, struct bpf_sock *sk)
{
	if (i < 0 || i > 2)
		return;
	found[i] = sk != 0;
	if (!sk)
		return;
	state[i] = sk->state;
	family[i] = sk->family;
	protocol[i] = sk->protocol;
	src_port[i] = sk->src_port;
	dst_port[i] = sk->dst_port;
	src_ip4[i] = sk->src_ip4;
	dst_ip4[i] = sk->dst_ip4;
}

SEC("tc")
int lookup(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 size = size_in;

	if (size > sizeof(t))
		size = sizeof(t);

	t.ipv4.saddr = saddr;
	t.ipv4.daddr = daddr;
	t.ipv4.sport = bpf_htons(sport);
	t.ipv4.dport = bpf_htons(dport);
	sk = bpf_sk_lookup_tcp(skb, &t, size, netns_in, flags_in);
	show(0, sk);
	if (sk) {
		fullsock = bpf_sk_fullsock(sk) == sk;
		listener = bpf_get_listener_sock(sk) != 0;
		bpf_sk_release(sk);
	}
	sk = bpf_sk_lookup_udp(skb, &t, size, netns_in, flags_in);
	show(1, sk);
	if (sk)
		bpf_sk_release(sk);
	sk = (struct bpf_sock *)bpf_skc_lookup_tcp(skb, &t, size, netns_in, flags_in);
	found[2] = sk != 0;
	if (sk)
		bpf_sk_release(sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
