// One object exercising the API both backends share: maps of several kinds,
// constants, globals in .data/.bss/.rodata, a ring buffer, test_run.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u64);
} counts SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} slots SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, __u32);
} percpu SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} events SEC(".maps");

const volatile __u32 verdict = 2;   /* XDP_PASS */
const volatile __u64 seed = 0;
__u64 packets_seen = 0;
__u32 last_len = 7;

SEC("xdp")
int contract_xdp(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data;
    void *end = (void *)(long)ctx->data_end;
    __u32 len = end - data;
    __u32 key = len & 3;
    __u64 one = 1, *v;

    packets_seen += 1;
    last_len = len;
    v = bpf_map_lookup_elem(&counts, &key);
    if (v)
        __sync_fetch_and_add(v, 1);
    else
        bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
    __u32 zero = 0;
    __u64 *s = bpf_map_lookup_elem(&slots, &zero);
    if (s)
        *s = seed + len;
    __u32 *pc = bpf_map_lookup_elem(&percpu, &zero);
    if (pc)
        *pc += 1;
    __u64 *rec = bpf_ringbuf_reserve(&events, sizeof(__u64), 0);
    if (rec) {
        *rec = seed + len;
        bpf_ringbuf_submit(rec, 0);
    }
    if (data + 1 <= end)
        *(unsigned char *)data = 0xAB;
    return verdict;
}

char LICENSE[] SEC("license") = "GPL";
