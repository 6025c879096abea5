// What a cgroup_skb program learns of the socket a packet belongs to, as connection
// trackers and per-cgroup accounting do: which kind of socket it is, its cgroup
// and, for a TCP connection, its TCP counters.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

__u32 found, state, kinds;
__u64 cg, anc[3];
__u32 cwnd, mss, segs_in, segs_out, data_segs_in, data_segs_out, total_retrans, has_tp;
__u64 bytes_acked, bytes_received;

SEC("cgroup_skb/ingress")
int classify(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	struct bpf_tcp_sock *tp;
	__u8 ip[20], th[4];

	if (bpf_skb_load_bytes(skb, 0, ip, sizeof(ip)) ||
	    bpf_skb_load_bytes(skb, 20, th, sizeof(th)))
		return 1;
	__builtin_memcpy(&t.ipv4.saddr, ip + 12, 4);
	__builtin_memcpy(&t.ipv4.daddr, ip + 16, 4);
	__builtin_memcpy(&t.ipv4.sport, th, 2);
	__builtin_memcpy(&t.ipv4.dport, th + 2, 2);
	sk = bpf_skc_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	found = sk != 0;
	if (!sk)
		return 1;
	state = sk->state;
	kinds = (!!bpf_skc_to_tcp_sock(sk)) | (!!bpf_skc_to_tcp6_sock(sk)) << 1 |
		(!!bpf_skc_to_tcp_timewait_sock(sk)) << 2 |
		(!!bpf_skc_to_tcp_request_sock(sk)) << 3 |
		(!!bpf_skc_to_udp6_sock(sk)) << 4 | (!!bpf_skc_to_unix_sock(sk)) << 5 |
		(!!bpf_skc_to_mptcp_sock(sk)) << 6;
	cg = bpf_sk_cgroup_id(sk);
	anc[0] = bpf_sk_ancestor_cgroup_id(sk, 0);
	anc[1] = bpf_sk_ancestor_cgroup_id(sk, 1);
	anc[2] = bpf_sk_ancestor_cgroup_id(sk, 2);
	tp = bpf_tcp_sock(sk);
	has_tp = tp != 0;
	if (tp) {
		cwnd = tp->snd_cwnd;
		mss = tp->mss_cache;
		segs_in = tp->segs_in;
		segs_out = tp->segs_out;
		data_segs_in = tp->data_segs_in;
		data_segs_out = tp->data_segs_out;
		total_retrans = tp->total_retrans;
		bytes_acked = tp->bytes_acked;
		bytes_received = tp->bytes_received;
	}
	bpf_sk_release(sk);
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
