// Checksum helpers and XDP metadata as real tools use them: source/destination NAT
// in tc (l3/l4_csum_replace before or after skb_store_bytes, or one csum_diff fed to
// both, cilium style), TTL decrement (a 2-byte replace), UDP's zero checksum, full
// IPv4 header checksums in XDP (katran style), and XDP programs that pass metadata
// to the stack: set it, move the packet under it, shrink it, read what came in.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 32);
    __type(key, __u32);
    __type(value, __s64);
} rets SEC(".maps");

static __always_inline void put(__u32 k, __s64 v) { bpf_map_update_elem(&rets, &k, &v, BPF_ANY); }

#define IP_OFF       ETH_HLEN
#define IP_CSUM_OFF  (ETH_HLEN + offsetof(struct iphdr, check))
#define IP_SRC_OFF   (ETH_HLEN + offsetof(struct iphdr, saddr))
#define IP_DST_OFF   (ETH_HLEN + offsetof(struct iphdr, daddr))
#define IP_TTL_OFF   (ETH_HLEN + offsetof(struct iphdr, ttl))
#define L4_OFF       (ETH_HLEN + sizeof(struct iphdr))
#define TCP_CSUM_OFF (L4_OFF + offsetof(struct tcphdr, check))
#define UDP_CSUM_OFF (L4_OFF + offsetof(struct udphdr, check))

volatile const __u32 new_addr = 0xc0a80a01;   /* 192.168.10.1, network order below */
volatile const __u16 new_port = 4242;

static __always_inline int l4_csum_off(__u8 proto)
{
    return proto == IPPROTO_TCP ? TCP_CSUM_OFF : proto == IPPROTO_UDP ? UDP_CSUM_OFF : -1;
}

/* SNAT: replace the checksums first, then store the new address and port */
SEC("tc")
int snat(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    struct iphdr *ip = data + ETH_HLEN;
    if ((void *)(ip + 1) + 4 > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5)
        return TC_ACT_OK;
    __u8 proto = ip->protocol;
    __u32 old_ip = ip->saddr, to_ip = bpf_htonl(new_addr);
    __u16 old_port = *(__u16 *)(ip + 1), to_port = bpf_htons(new_port);
    int coff = l4_csum_off(proto);
    __u64 flags = proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
    put(0, bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_ip, to_ip, sizeof(to_ip)));
    if (coff >= 0) {
        put(1, bpf_l4_csum_replace(skb, coff, old_ip, to_ip,
                                   BPF_F_PSEUDO_HDR | flags | sizeof(to_ip)));
        put(2, bpf_l4_csum_replace(skb, coff, old_port, to_port, flags | sizeof(to_port)));
        put(3, bpf_skb_store_bytes(skb, L4_OFF, &to_port, sizeof(to_port), 0));
    }
    put(4, bpf_skb_store_bytes(skb, IP_SRC_OFF, &to_ip, sizeof(to_ip), BPF_F_INVALIDATE_HASH));
    put(5, bpf_csum_update(skb, 0x1234));        /* no CHECKSUM_COMPLETE in a test run */
    put(6, bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY));
    return TC_ACT_OK;
}

/* DNAT, cilium style: store first (with BPF_F_RECOMPUTE_CSUM), then one csum_diff
 * of the old and new address fed to both replaces with from = 0 */
SEC("tc")
int dnat(struct __sk_buff *skb)
{
    __u8 proto, vihl;
    __u32 old_ip, to_ip = bpf_htonl(new_addr);
    if (bpf_skb_load_bytes(skb, IP_OFF, &vihl, 1) ||
        bpf_skb_load_bytes(skb, IP_OFF + offsetof(struct iphdr, protocol), &proto, 1) ||
        bpf_skb_load_bytes(skb, IP_DST_OFF, &old_ip, 4))
        return TC_ACT_SHOT;
    if (vihl != 0x45)
        return TC_ACT_OK;
    put(7, bpf_skb_store_bytes(skb, IP_DST_OFF, &to_ip, 4, BPF_F_RECOMPUTE_CSUM));
    __s64 diff = bpf_csum_diff(&old_ip, 4, &to_ip, 4, 0);
    put(8, diff);
    put(9, bpf_l3_csum_replace(skb, IP_CSUM_OFF, 0, diff, 0));
    int coff = l4_csum_off(proto);
    if (coff >= 0)
        put(10, bpf_l4_csum_replace(skb, coff, 0, diff,
                                    BPF_F_PSEUDO_HDR | (proto == IPPROTO_UDP ?
                                                        BPF_F_MARK_MANGLED_0 : 0)));
    put(11, bpf_csum_level(skb, BPF_CSUM_LEVEL_INC));
    put(12, bpf_csum_level(skb, BPF_CSUM_LEVEL_QUERY));
    put(13, bpf_csum_level(skb, BPF_CSUM_LEVEL_RESET));
    put(14, bpf_csum_level(skb, 7));                 /* unknown level op */
    return TC_ACT_OK;
}

/* a router's TTL decrement: the TTL/protocol word changes, a 2-byte replace */
SEC("tc")
int ttl_dec(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    struct iphdr *ip = data + ETH_HLEN;
    if ((void *)(ip + 1) > end)
        return TC_ACT_OK;
    if (ip->ttl <= 1)
        return TC_ACT_SHOT;
    __u16 old = *(__u16 *)&ip->ttl;
    __u8 ttl = ip->ttl - 1;
    __u16 new = bpf_htons(((__u16)ttl << 8) | ip->protocol);
    put(15, bpf_l3_csum_replace(skb, IP_CSUM_OFF, old, new, 2));
    put(16, bpf_skb_store_bytes(skb, IP_TTL_OFF, &ttl, 1, 0));
    return TC_ACT_OK;
}

static __always_inline __u16 csum_fold(__u64 csum)
{
    csum = (csum & 0xffff) + (csum >> 16);
    csum = (csum & 0xffff) + (csum >> 16);
    return ~csum;
}

/* XDP has no csum_replace: rewrite the destination, recompute the IPv4 header
 * checksum from scratch, and patch the L4 checksum with a csum_diff */
SEC("xdp")
int xdp_dnat(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    struct iphdr *ip = data + ETH_HLEN;
    if ((void *)(ip + 1) + sizeof(struct udphdr) > end || ip->ihl != 5)
        return XDP_PASS;
    __u32 old_ip = ip->daddr, to_ip = bpf_htonl(new_addr);
    ip->daddr = to_ip;
    ip->check = 0;
    __s64 sum = bpf_csum_diff(0, 0, (__be32 *)ip, sizeof(*ip), 0);
    put(17, sum);
    if (sum < 0)
        return XDP_ABORTED;
    ip->check = csum_fold(sum);
    __u16 *check = 0;
    if (ip->protocol == IPPROTO_UDP)
        check = &((struct udphdr *)(ip + 1))->check;
    else if (ip->protocol == IPPROTO_TCP && (void *)(ip + 1) + sizeof(struct tcphdr) <= end)
        check = &((struct tcphdr *)(ip + 1))->check;
    if (check && *check) {        /* a UDP checksum of 0: none, leave it */
        __s64 d = bpf_csum_diff(&old_ip, 4, &to_ip, 4, ~((__u32)*check) & 0xffff);
        put(18, d);
        if (d >= 0)
            *check = csum_fold(d);
    }
    return XDP_TX;
}

struct meta { __u32 mark; __u16 tag; __u16 len; };

/* set metadata for the stack, encapsulate under it, then shrink it */
SEC("xdp")
int xdp_meta_set(struct xdp_md *ctx)
{
    put(19, bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct meta)));
    void *meta = (void *)(long)ctx->data_meta, *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    struct meta *m = meta;
    if ((void *)(m + 1) > data)
        return XDP_ABORTED;
    m->mark = 0x5eed;
    m->tag = 7;
    m->len = end - data;
    /* push an outer Ethernet header: the metadata moves with the data */
    put(20, bpf_xdp_adjust_head(ctx, -(int)ETH_HLEN));
    data = (void *)(long)ctx->data;
    end = (void *)(long)ctx->data_end;
    meta = (void *)(long)ctx->data_meta;
    if (data + 2 * ETH_HLEN > end || meta + sizeof(struct meta) > data)
        return XDP_ABORTED;
    __builtin_memcpy(data, data + ETH_HLEN, ETH_HLEN);
    ((struct meta *)meta)->tag = 8;
    put(21, bpf_xdp_adjust_meta(ctx, 2));     /* not a multiple of 4: refused */
    put(22, bpf_xdp_adjust_meta(ctx, -64));   /* 72 bytes: fine since Linux 6.6 (was 32) */
    put(24, bpf_xdp_adjust_meta(ctx, -252));  /* into the xdp_frame: refused */
    put(23, bpf_xdp_adjust_meta(ctx, 68));    /* back, and drop the mark word */
    return XDP_PASS;
}

/* read metadata that came with the frame (ctx data = its length), then decapsulate */
SEC("xdp")
int xdp_meta_read(struct xdp_md *ctx)
{
    void *meta = (void *)(long)ctx->data_meta, *data = (void *)(long)ctx->data;
    __u32 *w = meta;
    if ((void *)(w + 1) > data) {
        put(0, -1);
        return XDP_PASS;
    }
    put(0, *w);
    put(1, data - meta);
    put(2, bpf_xdp_adjust_head(ctx, ETH_HLEN));
    meta = (void *)(long)ctx->data_meta;
    data = (void *)(long)ctx->data;
    if (meta + 4 <= data)
        put(3, *(__u32 *)meta);
    put(4, data - meta);
    put(5, bpf_xdp_adjust_tail(ctx, -4));
    return XDP_PASS;
}

/* tc sees data_meta too (empty in a test run) */
SEC("tc")
int tc_meta(struct __sk_buff *skb)
{
    void *meta = (void *)(long)skb->data_meta, *data = (void *)(long)skb->data;
    put(6, data - meta);
    if (meta + 4 <= data)
        return TC_ACT_SHOT;
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
