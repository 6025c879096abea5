// What tc programs ask of their skb beyond its bytes: cgroup ids and classids,
// checksum state, packet type, timestamps, neighbour/peer redirects.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

long r[24];
__u64 ids[6];
__u64 netns_cookie;
__u32 level_in;

SEC("tc")
int meta(struct __sk_buff *skb)
{
	r[0] = bpf_get_cgroup_classid(skb);
	r[1] = bpf_skb_cgroup_classid(skb);
	r[2] = bpf_get_route_realm(skb);
	r[3] = bpf_get_socket_uid(skb);
	ids[0] = bpf_skb_cgroup_id(skb);
	ids[1] = bpf_skb_ancestor_cgroup_id(skb, 0);
	ids[2] = bpf_skb_ancestor_cgroup_id(skb, level_in);
	ids[3] = bpf_skb_ancestor_cgroup_id(skb, 100);
	ids[4] = bpf_get_current_cgroup_id();
	netns_cookie = bpf_get_netns_cookie(skb);
	r[4] = bpf_csum_update(skb, 0x1234);
	r[5] = bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY);
	r[6] = bpf_csum_level(skb, BPF_CSUM_LEVEL_INC);
	r[7] = bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY);
	r[8] = bpf_csum_level(skb, BPF_CSUM_LEVEL_INC);
	r[9] = bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY);
	r[10] = bpf_csum_level(skb, BPF_CSUM_LEVEL_DEC);
	r[11] = bpf_csum_level(skb, BPF_CSUM_LEVEL_RESET);
	r[12] = bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY);
	r[13] = bpf_csum_level(skb, 9);
	r[14] = skb->pkt_type;
	r[15] = bpf_skb_change_type(skb, 3);
	r[16] = skb->pkt_type;
	r[17] = bpf_skb_change_type(skb, 4);
	r[18] = bpf_skb_set_tstamp(skb, 12345, BPF_SKB_CLOCK_MONOTONIC);
	r[19] = skb->tstamp + skb->tstamp_type * 1000000;
	r[20] = bpf_skb_set_tstamp(skb, 0, BPF_SKB_CLOCK_TAI);
	r[21] = bpf_skb_set_tstamp(skb, 5, 7);
	r[22] = bpf_redirect_peer(1, 1);
	r[23] = bpf_redirect_neigh(1, NULL, 0, 1);
	return bpf_redirect_peer(1, 0);
}

SEC("tc")
int neigh(struct __sk_buff *skb)
{
	struct bpf_redir_neigh nh = {.nh_family = 2, .ipv4_nh = 0x0100007f};

	r[0] = bpf_redirect_neigh(1, &nh, 4, 0);
	return bpf_redirect_neigh(1, &nh, sizeof(nh), 0);
}

char LICENSE[] SEC("license") = "GPL";
