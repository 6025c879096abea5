// Tunnel metadata as encapsulating tc programs set it (before redirecting to a
// vxlan/geneve device), read back with each flag and layout the helpers take.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

long set_ret[6] = {9, 9, 9, 9, 9, 9};
long get_ret[8] = {9, 9, 9, 9, 9, 9, 9, 9};
long opt_ret[5] = {9, 9, 9, 9, 9};
struct bpf_tunnel_key got4, got4f, got6;
__u8 got_short[24];
__u8 opts_out[16];
__u8 opts_small[4];
__u32 flags_in;

SEC("tc")
int encap(struct __sk_buff *skb)
{
	struct bpf_tunnel_key k = {};
	__u8 opts[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

	k.tunnel_id = 0x123456;
	k.remote_ipv4 = 0x0a000001;
	k.local_ipv4 = 0xc0a80102;
	k.tunnel_tos = 3;
	k.tunnel_ttl = 64;
	opt_ret[0] = bpf_skb_set_tunnel_opt(skb, opts, 8);    /* no key yet */
	set_ret[0] = bpf_skb_set_tunnel_key(skb, &k, sizeof(k), 1 << 7);
	set_ret[1] = bpf_skb_set_tunnel_key(skb, &k, 30, 0);
	k.tunnel_label = 5;
	set_ret[2] = bpf_skb_set_tunnel_key(skb, &k, sizeof(k), 0);   /* label on v4 */
	k.tunnel_label = 0;
	set_ret[3] = bpf_skb_set_tunnel_key(skb, &k, sizeof(k), flags_in);
	get_ret[0] = bpf_skb_get_tunnel_key(skb, &got4, sizeof(got4), 0);
	get_ret[1] = bpf_skb_get_tunnel_key(skb, &got4f, sizeof(got4f), BPF_F_TUNINFO_FLAGS);
	get_ret[2] = bpf_skb_get_tunnel_key(skb, &got6, sizeof(got6), BPF_F_TUNINFO_IPV6);
	get_ret[3] = bpf_skb_get_tunnel_key(skb, (void *)got_short, 24, 0);
	get_ret[4] = bpf_skb_get_tunnel_key(skb, (void *)got_short, 20, 0);
	opt_ret[1] = bpf_skb_get_tunnel_opt(skb, opts_out, sizeof(opts_out));  /* none yet */
	opt_ret[2] = bpf_skb_set_tunnel_opt(skb, opts, 6);    /* not a multiple of 4 */
	opt_ret[3] = bpf_skb_set_tunnel_opt(skb, opts, 12);
	opt_ret[4] = bpf_skb_get_tunnel_opt(skb, opts_small, sizeof(opts_small));
	get_ret[5] = bpf_skb_get_tunnel_opt(skb, opts_out, sizeof(opts_out));
	get_ret[6] = bpf_skb_get_tunnel_key(skb, &got4f, sizeof(got4f), BPF_F_TUNINFO_FLAGS);
	return 0;
}

SEC("tc")
int encap6(struct __sk_buff *skb)
{
	struct bpf_tunnel_key k = {};

	k.tunnel_id = 77;
	k.remote_ipv6[0] = 0x000080fe;
	k.remote_ipv6[3] = 0x01000000;
	k.local_ipv6[3] = 0x02000000;
	k.tunnel_label = 0xfff12345;
	set_ret[4] = bpf_skb_set_tunnel_key(skb, &k, sizeof(k), BPF_F_TUNINFO_IPV6);
	get_ret[7] = bpf_skb_get_tunnel_key(skb, &got6, sizeof(got6), BPF_F_TUNINFO_IPV6);
	set_ret[5] = bpf_skb_get_tunnel_key(skb, &got4, sizeof(got4), 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

/* bpf_clone_redirect: a copy out of the loopback, into it, to no device, bad flags */
long clone_ret[4] = {9, 9, 9, 9};

SEC("tc")
int clone(struct __sk_buff *skb)
{
	clone_ret[0] = bpf_clone_redirect(skb, 1, 0);
	clone_ret[1] = bpf_clone_redirect(skb, 1, BPF_F_INGRESS);
	clone_ret[2] = bpf_clone_redirect(skb, 0x7ffffff0, 0);
	clone_ret[3] = bpf_clone_redirect(skb, 1, 4);
	return skb->len;
}
