// An sk_lookup program steering connections to a socket of a sockmap, as
// socket-dispatch programs (one listener for many addresses and ports) do.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} redir SEC(".maps");

__u32 key_in, pass_in = 1, again;
__u64 flags_in, again_flags;
long ret1, ret2;
__u32 found, had_sk, seen_port, seen_family, seen_proto;

SEC("sk_lookup")
int steer(struct bpf_sk_lookup *ctx)
{
	struct bpf_sock *sk;
	__u32 key = key_in;

	seen_port = ctx->local_port;
	seen_family = ctx->family;
	seen_proto = ctx->protocol;
	sk = bpf_map_lookup_elem(&redir, &key);
	found = sk != 0;
	if (!sk)
		return pass_in ? SK_PASS : SK_DROP;
	ret1 = bpf_sk_assign(ctx, sk, flags_in);
	if (again)
		ret2 = bpf_sk_assign(ctx, sk, again_flags);
	had_sk = ctx->sk != 0;
	bpf_sk_release(sk);
	return pass_in ? SK_PASS : SK_DROP;
}

char LICENSE[] SEC("license") = "GPL";
