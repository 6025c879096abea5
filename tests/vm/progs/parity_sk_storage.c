// Per-connection state kept in socket storage by a tc program, as flow
// accounting programs do: the socket a lookup finds carries a counter.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct counter {
	__u64 runs;
	__u32 seed;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct counter);
} per_sock SEC(".maps");

__u64 runs;
__u32 seed, found, forget;
long deleted, delete_again, after_delete;

SEC("tc")
int count(struct __sk_buff *skb)
{
	struct counter init = { .runs = 0, .seed = 7 }, *c;
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u8 ip[20], th[4];

	if (bpf_skb_load_bytes(skb, 14, ip, sizeof(ip)) ||
	    bpf_skb_load_bytes(skb, 34, th, sizeof(th)))
		return 0;
	__builtin_memcpy(&t.ipv4.saddr, ip + 12, 4);
	__builtin_memcpy(&t.ipv4.daddr, ip + 16, 4);
	__builtin_memcpy(&t.ipv4.sport, th, 2);
	__builtin_memcpy(&t.ipv4.dport, th + 2, 2);
	sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS, 0);
	found = sk != 0;
	if (!sk)
		return 0;
	if (forget) {
		deleted = bpf_sk_storage_delete(&per_sock, sk);
		delete_again = bpf_sk_storage_delete(&per_sock, sk);
		after_delete = bpf_sk_storage_get(&per_sock, sk, 0, 0) != 0;
	} else {
		c = bpf_sk_storage_get(&per_sock, sk, &init, BPF_SK_STORAGE_GET_F_CREATE);
		if (c) {
			c->runs++;
			runs = c->runs;
			seed = c->seed;
		}
	}
	bpf_sk_release(sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
