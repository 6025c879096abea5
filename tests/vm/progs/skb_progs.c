// Socket filter and tc programs as real tools write them: ctx fields, legacy
// packet loads, skb_load_bytes, direct packet access, checksum helpers, maps.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

struct key { __u32 proto; __u32 pkt_type; };
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 32);
    __type(key, struct key);
    __type(value, __u64);
} by_proto SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} fields SEC(".maps");

static __always_inline void put(__u32 k, __u64 v)
{
    bpf_map_update_elem(&fields, &k, &v, BPF_ANY);
}

SEC("socket")
int sock_count(struct __sk_buff *skb)
{
    struct key k = { .proto = skb->protocol, .pkt_type = skb->pkt_type };
    __u64 one = 1, *v = bpf_map_lookup_elem(&by_proto, &k);
    if (v) __sync_fetch_and_add(v, 1);
    else bpf_map_update_elem(&by_proto, &k, &one, BPF_ANY);
    put(0, skb->len);
    put(1, skb->ifindex);
    put(2, skb->ingress_ifindex);
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return 0;
    __u64 ver = load_byte(skb, 0) >> 4;
    __u64 proto = load_byte(skb, 9);
    put(3, ver);
    put(4, load_word(skb, 12));
    __u8 buf[4];
    if (bpf_skb_load_bytes(skb, 16, buf, 4) == 0)
        put(5, buf[0] | buf[3] << 8);
    else
        put(5, 0xdead);
    if (proto == 17)
        return load_half(skb, 22); /* UDP dest port (past a 20-byte IP header) */
    return skb->len;
}

SEC("tc")
int tc_rewrite(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    put(0, skb->len);
    put(1, skb->protocol);
    put(2, skb->pkt_type);
    put(3, skb->ifindex);
    put(4, skb->mark);
    put(5, skb->priority);
    put(6, skb->cb[1]);
    skb->mark = skb->mark * 3 + 1;
    skb->priority = 7;
    skb->cb[2] = 0x1234;
    if ((void *)(eth + 1) > data_end)
        return TC_ACT_SHOT;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return TC_ACT_OK;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return TC_ACT_SHOT;
    __u32 old_daddr = ip->daddr;
    __u32 new_daddr = bpf_htonl(0x0a000063);
    bpf_l3_csum_replace(skb, ETH_HLEN + 10, old_daddr, new_daddr, 4);
    bpf_skb_store_bytes(skb, ETH_HLEN + 16, &new_daddr, 4, 0);
    data = (void *)(long)skb->data;
    data_end = (void *)(long)skb->data_end;
    ip = data + ETH_HLEN;
    if ((void *)(ip + 1) > data_end)
        return TC_ACT_SHOT;
    __u8 ttl = ip->ttl;
    if (ttl <= 1)
        return TC_ACT_SHOT;
    __u16 old = *(__u16 *)&ip->ttl;
    ip->ttl = ttl - 1;
    __u8 proto = ip->protocol;
    bpf_l3_csum_replace(skb, ETH_HLEN + 10, old, *(__u16 *)&ip->ttl, 2);
    if (proto == 17)
        return bpf_redirect(skb->ifindex, 0);
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
