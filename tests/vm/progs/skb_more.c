// tc and socket-filter programs with bounded loops, bpf_loop, BPF-to-BPF calls,
// tail calls, per-CPU maps and global data: the shapes real tools have.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
} next SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 128);  /* the kernel's LRU is approximate: stay clear of eviction */
    __type(key, __u32);
    __type(value, __u32);
} flows SEC(".maps");

__u64 total_bytes = 0;
__u32 last_hash = 0;
const volatile __u32 salt = 0x9e3779b9;

static __noinline __u32 mix(__u32 h, __u32 v)
{
    h ^= v + salt + (h << 6) + (h >> 2);
    return h;
}

struct acc { struct __sk_buff *skb; __u32 h; };

static int fold_byte(__u32 i, struct acc *a)
{
    __u8 b;
    if (bpf_skb_load_bytes(a->skb, i, &b, 1))
        return 1;
    a->h = mix(a->h, b);
    return 0;
}

SEC("tc")
int tc_second(struct __sk_buff *skb)
{
    __u32 k = 1;
    __u64 *c = bpf_map_lookup_elem(&stats, &k);
    if (c)
        *c += skb->len;
    return TC_ACT_UNSPEC;
}

SEC("tc")
int tc_first(struct __sk_buff *skb)
{
    void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
    __u32 h = 0;
    for (int i = 0; i < 24; i++) {
        __u8 *p = data + i;
        if ((void *)(p + 1) > end)
            break;
        h = mix(h, *p);
    }
    struct acc a = { .skb = skb, .h = h };
    bpf_loop(skb->len < 64 ? skb->len : 64, fold_byte, &a, 0);
    last_hash = a.h;
    __sync_fetch_and_add(&total_bytes, skb->len);
    __u32 k = 0;
    __u64 *c = bpf_map_lookup_elem(&stats, &k);
    if (c)
        *c += 1;
    __u32 flow = a.h & 15, one = 1;
    __u32 *seen = bpf_map_lookup_elem(&flows, &flow);
    if (seen)
        *seen += 1;
    else
        bpf_map_update_elem(&flows, &flow, &one, BPF_ANY);
    if (a.h & 1)
        bpf_tail_call(skb, &next, 0);
    return a.h & 2 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("socket")
int sock_hash(struct __sk_buff *skb)
{
    struct acc a = { .skb = skb, .h = 0 };
    bpf_loop(32, fold_byte, &a, 0);
    __u32 k = 0;
    __u64 *c = bpf_map_lookup_elem(&stats, &k);
    if (c)
        *c += a.h & 0xff;
    return a.h & 4 ? 0 : skb->len;
}

char LICENSE[] SEC("license") = "GPL";
