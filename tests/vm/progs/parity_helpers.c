// Helpers added for runtime parity, each as a real tool calls it: last branch
// records (retsnoop-style tracing), tunnel metadata of a packet (decap programs).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

long branch_ret = 1, branch_bad_flags = 1;
struct perf_branch_entry branches[4];

long key_ret = 1, key_ret_v6 = 1, opt_ret = 1;
struct bpf_tunnel_key key = {.tunnel_id = 7, .remote_ipv4 = 9};
__u8 opts[8] = {1, 2, 3, 4, 5, 6, 7, 8};

SEC("raw_tp/sys_enter")
int branches_prog(void *ctx)
{
	branch_ret = bpf_get_branch_snapshot(branches, sizeof(branches), 0);
	branch_bad_flags = bpf_get_branch_snapshot(branches, sizeof(branches), 1);
	return 0;
}

SEC("tc")
int tunnel_prog(struct __sk_buff *skb)
{
	struct bpf_tunnel_key k6 = {.tunnel_id = 3};

	key_ret = bpf_skb_get_tunnel_key(skb, &key, sizeof(key), 0);
	key_ret_v6 = bpf_skb_get_tunnel_key(skb, &k6, sizeof(k6), BPF_F_TUNINFO_IPV6);
	opt_ret = bpf_skb_get_tunnel_opt(skb, opts, sizeof(opts));
	return k6.tunnel_id == 0 ? 0 : 2;
}

char LICENSE[] SEC("license") = "GPL";
