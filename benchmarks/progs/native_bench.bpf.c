// Programs for benchmarks/native_bench.py: the vm's native executor against
// the kernel's JIT on the same object and input.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define FNV_BYTES 1024
#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

/* FNV-1a over the first 1024 bytes of the packet, in one loop */
SEC("xdp")
int fnv_inline(struct xdp_md *ctx)
{
    const __u8 *p = (const __u8 *)(long)ctx->data;
    const __u8 *end = (const __u8 *)(long)ctx->data_end;
    if (p + FNV_BYTES > end)
        return 0;
    __u32 h = FNV_OFFSET;
    for (int i = 0; i < FNV_BYTES; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

static __attribute__((noinline)) __u32 fnv_step(__u32 h, __u32 byte)
{
    return (h ^ byte) * FNV_PRIME;
}

/* the same hash with a BPF-to-BPF call per byte */
SEC("xdp")
int fnv_call(struct xdp_md *ctx)
{
    const __u8 *p = (const __u8 *)(long)ctx->data;
    const __u8 *end = (const __u8 *)(long)ctx->data_end;
    if (p + FNV_BYTES > end)
        return 0;
    __u32 h = FNV_OFFSET;
    for (int i = 0; i < FNV_BYTES; i++)
        h = fnv_step(h, p[i]);
    return h;
}

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u64);
} proto_pkts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, __u64);
} src_bytes SEC(".maps");

/* parse Ethernet + IPv4, count packets per protocol (array) and bytes per
   source address (hash): two map operations per packet */
SEC("xdp")
int parse_count(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *data_end = (void *)(long)ctx->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return XDP_ABORTED;
    if (eth->h_proto != bpf_htons(ETH_P_IP))
        return XDP_PASS;
    struct iphdr *ip = (void *)(eth + 1);
    if ((void *)(ip + 1) > data_end)
        return XDP_DROP;
    __u32 proto = ip->protocol;
    __u64 *n = bpf_map_lookup_elem(&proto_pkts, &proto);
    if (n)
        __sync_fetch_and_add(n, 1);
    __u32 src = ip->saddr;
    __u64 *b = bpf_map_lookup_elem(&src_bytes, &src);
    if (b)
        __sync_fetch_and_add(b, bpf_ntohs(ip->tot_len));
    return XDP_PASS;
}

/* the helpers the native executor runs in machine code, once each: a hash
   update in place, a hash insert and delete, a ring-buffer record, a tail call */
struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4 << 20);
} events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} next_prog SEC(".maps");

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
    return XDP_PASS;
}

SEC("xdp")
int helpers_mix(struct xdp_md *ctx)
{
    __u32 known = 0x0100000A, fresh = 0x0200000A;
    __u64 v = 1;
    bpf_map_update_elem(&src_bytes, &known, &v, BPF_ANY);
    if (bpf_map_update_elem(&src_bytes, &fresh, &v, BPF_NOEXIST))
        return XDP_ABORTED;
    bpf_map_delete_elem(&src_bytes, &fresh);
    __u64 rec[2] = {known, bpf_get_prandom_u32() & 0};
    bpf_ringbuf_output(&events, rec, sizeof(rec), BPF_RB_NO_WAKEUP);
    bpf_tail_call(ctx, &next_prog, 0);
    return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
