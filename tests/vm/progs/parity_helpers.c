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

/* bpf_check_mtu on the test-run device (ifindex 0), another ifindex, bad flags,
 * a given L3 length and a length change, from XDP and from tc */
long xdp_mtu_ret[5] = {9, 9, 9, 9, 9};
__u32 xdp_mtu_len[5] = {7, 7, 7, 7, 7};
long skb_mtu_ret[5] = {9, 9, 9, 9, 9};
__u32 skb_mtu_len[5] = {7, 7, 7, 7, 7};

SEC("xdp")
int xdp_mtu(struct xdp_md *ctx)
{
	__u32 l;

	l = 0; xdp_mtu_ret[0] = bpf_check_mtu(ctx, 0, &l, 0, 0); xdp_mtu_len[0] = l;
	l = 0; xdp_mtu_ret[1] = bpf_check_mtu(ctx, 0, &l, 70000, 0); xdp_mtu_len[1] = l;
	l = 1500; xdp_mtu_ret[2] = bpf_check_mtu(ctx, 0, &l, 0, 0); xdp_mtu_len[2] = l;
	l = 5; xdp_mtu_ret[3] = bpf_check_mtu(ctx, 0, &l, 0, 1); xdp_mtu_len[3] = l;
	l = 5; xdp_mtu_ret[4] = bpf_check_mtu(ctx, 0x7fffff00, &l, 0, 0); xdp_mtu_len[4] = l;
	return XDP_PASS;
}

SEC("tc")
int skb_mtu(struct __sk_buff *skb)
{
	__u32 l;

	l = 0; skb_mtu_ret[0] = bpf_check_mtu(skb, 0, &l, 0, 0); skb_mtu_len[0] = l;
	l = 0; skb_mtu_ret[1] = bpf_check_mtu(skb, 0, &l, 70000, 0); skb_mtu_len[1] = l;
	l = 65600; skb_mtu_ret[2] = bpf_check_mtu(skb, 0, &l, 0, 0); skb_mtu_len[2] = l;
	l = 5; skb_mtu_ret[3] = bpf_check_mtu(skb, 0, &l, 0, BPF_MTU_CHK_SEGS); skb_mtu_len[3] = l;
	l = 5; skb_mtu_ret[4] = bpf_check_mtu(skb, 0x7fffff00, &l, 0, 0); skb_mtu_len[4] = l;
	return 0;
}

/* bpf_read_branch_records in a perf_event program: the sample has no branch stack */
long records_ret = 9, records_bad_flags = 9;

SEC("perf_event")
int sampled(struct bpf_perf_event_data *ctx)
{
	struct perf_branch_entry buf[4];

	records_ret = bpf_read_branch_records(ctx, buf, sizeof(buf), 0);
	records_bad_flags = bpf_read_branch_records(ctx, buf, sizeof(buf), 2);
	return 0;
}
