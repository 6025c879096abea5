// Helper semantics, checked against the kernel through BPF_PROG_TEST_RUN of a
// raw tracepoint program: loops, callbacks, string helpers, queue/stack,
// LPM trie, LRU, bloom filter, ring buffer and printk-style formatting.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 32);
         __type(key, __u32); __type(value, __s64); } out SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16);
         __type(key, __u32); __type(value, __u64); } h SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 4);
         __type(value, __u32); } q SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK); __uint(max_entries, 4);
         __type(value, __u32); } stk SEC(".maps");
struct lpm_key { __u32 prefixlen; __u8 addr[4]; };
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 16);
         __uint(map_flags, BPF_F_NO_PREALLOC);
         __type(key, struct lpm_key); __type(value, __u32); } lpm SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 4);
         __type(key, __u32); __type(value, __u32); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_BLOOM_FILTER); __uint(max_entries, 16);
         __type(value, __u32); } bloom SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");

static void put(__u32 k, __s64 v) { bpf_map_update_elem(&out, &k, &v, BPF_ANY); }

struct loop_ctx { __u64 sum; __u32 stop_at; };
static int loop_cb(__u32 i, struct loop_ctx *c)
{
    c->sum += i * i;
    return i == c->stop_at;
}

static __u64 each_cb(void *map, __u32 *key, __u64 *val, struct loop_ctx *c)
{
    c->sum += *key * 1000 + *val;
    return 0;
}

SEC("raw_tp/sys_enter")
int helpers(__u64 *ctx)
{
    __u32 n = ctx[0], stop = ctx[1];
    struct loop_ctx lc = { .sum = 0, .stop_at = stop };
    put(0, bpf_loop(n, loop_cb, &lc, 0));
    put(1, lc.sum);
    put(2, bpf_loop(1 << 24, loop_cb, &lc, 0));       /* -E2BIG */

    for (__u32 i = 1; i <= 3; i++) {
        __u64 v = i * 7;
        bpf_map_update_elem(&h, &i, &v, BPF_NOEXIST);
    }
    __u32 one = 1; __u64 v = 5;
    put(3, bpf_map_update_elem(&h, &one, &v, BPF_NOEXIST));  /* -EEXIST */
    __u32 nine = 9;
    put(4, bpf_map_update_elem(&h, &nine, &v, BPF_EXIST));   /* -ENOENT */
    put(5, bpf_map_delete_elem(&h, &nine));                  /* -ENOENT */
    struct loop_ctx ec = {};
    put(6, bpf_for_each_map_elem(&h, each_cb, &ec, 0));
    put(7, ec.sum);

    char num[] = "  -0x1f zz";
    long res = 0;
    put(8, bpf_strtol(num, sizeof(num), 0, &res));
    put(9, res);
    char dec[] = "12345";
    unsigned long ures = 0;
    put(10, bpf_strtoul(dec, sizeof(dec), 10, &ures));
    put(11, ures);
    put(12, bpf_strtoul(num, sizeof(num), 10, &ures));       /* '-' for unsigned: -EINVAL */

    for (__u32 i = 10; i < 16; i++) {
        bpf_map_push_elem(&q, &i, 0);
        bpf_map_push_elem(&stk, &i, 0);
    }
    __u32 x = 99;
    put(13, bpf_map_push_elem(&q, &x, BPF_EXIST));           /* drops the oldest */
    __u32 a = 0, b = 0;
    bpf_map_pop_elem(&q, &a);
    bpf_map_peek_elem(&stk, &b);
    put(14, a);
    put(15, b);

    struct lpm_key k8 = { 8, {10, 0, 0, 0} }, k24 = { 24, {10, 1, 2, 0} };
    __u32 v8 = 8, v24 = 24;
    bpf_map_update_elem(&lpm, &k8, &v8, 0);
    bpf_map_update_elem(&lpm, &k24, &v24, 0);
    struct lpm_key probe = { 32, {10, 1, 2, 3} };
    __u32 *hit = bpf_map_lookup_elem(&lpm, &probe);
    put(16, hit ? *hit : -1);
    probe.addr[1] = 9;
    hit = bpf_map_lookup_elem(&lpm, &probe);
    put(17, hit ? *hit : -1);
    probe.addr[0] = 11;
    hit = bpf_map_lookup_elem(&lpm, &probe);
    put(18, hit ? *hit : -1);

    for (__u32 i = 0; i < 6; i++)
        bpf_map_update_elem(&lru, &i, &i, 0);
    __u32 zero = 0;
    put(19, bpf_map_lookup_elem(&lru, &zero) ? 1 : 0);      /* evicted */

    __u32 bv = 42, bw = 43;
    bpf_map_push_elem(&bloom, &bv, 0);
    put(20, bpf_map_peek_elem(&bloom, &bv));
    put(21, bpf_map_peek_elem(&bloom, &bw));

    char buf[48];
    put(22, bpf_snprintf(buf, 4, "abcdef", 0, 0));
    __u64 args2[4] = { -5, 255, (__u64)"str", 42 };
    put(23, bpf_snprintf(buf, sizeof(buf), "%d|%x|%s|%05u", args2, sizeof(args2)));
    __u32 *ev = bpf_ringbuf_reserve(&rb, 48, 0);
    if (ev) {
        __builtin_memcpy(ev, buf, 48);
        bpf_ringbuf_submit(ev, 0);
    }
    put(24, bpf_ringbuf_output(&rb, &lc, sizeof(lc), 0));
    put(25, bpf_ringbuf_query(&rb, 0));
    void *big = bpf_ringbuf_reserve(&rb, 8192, 0);
    put(26, big ? 1 : 0);
    if (big) bpf_ringbuf_discard(big, 0);
    char tmp[8];
    put(27, bpf_probe_read_kernel(tmp, 8, (void *)16));       /* -EFAULT */
    put(28, bpf_probe_read_kernel_str(tmp, 8, "hello world"));
    put(29, tmp[6]);
    return 7;
}

char LICENSE[] SEC("license") = "GPL";
