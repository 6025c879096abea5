/* Per-cgroup egress policy: count packets leaving the cgroup, drop UDP to one port. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u16 blocked_port = 0;
__u64 packets = 0;
__u64 blocked = 0;

SEC("cgroup_skb/egress")
int egress_policy(struct __sk_buff *skb)
{
    struct iphdr ip;
    struct udphdr udp;

    __sync_fetch_and_add(&packets, 1);
    if (skb->protocol != bpf_htons(0x0800))
        return 1;
    if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != IPPROTO_UDP)
        return 1;
    if (bpf_skb_load_bytes(skb, ip.ihl * 4, &udp, sizeof(udp)))
        return 1;
    if (udp.dest == bpf_htons(blocked_port)) {
        __sync_fetch_and_add(&blocked, 1);
        return 0; /* drop */
    }
    return 1;
}
