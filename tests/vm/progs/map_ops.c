// Map operations driven by packet bytes: each 8-byte record is one operation
// (update with flags / delete / lookup / push / pop / peek) on a hash map, an
// array, an LRU-free small hash, or a queue; every return code is recorded.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct op { __u8 code; __u8 key; __u8 flags; __u8 pad; __u32 val; };

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4);
         __type(key, __u32); __type(value, __u32); } h SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4);
         __type(key, __u32); __type(value, __u32); } a SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 3);
         __type(value, __u32); } q SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK); __uint(max_entries, 3);
         __type(value, __u32); } s SEC(".maps");
__s64 rcs[16];

SEC("xdp")
int map_ops(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    for (int i = 0; i < 16; i++) {
        struct op *o = data + i * sizeof(struct op);
        if ((void *)(o + 1) > end)
            break;
        __u32 key = o->key & 7, val = o->val;
        __u64 flags = o->flags & 3;
        void *m = (o->code & 1) ? (void *)&a : (void *)&h;
        __s64 rc;
        __u32 *v;
        switch ((o->code >> 1) & 7) {
        case 0: rc = bpf_map_update_elem(m, &key, &val, flags); break;
        case 1: rc = bpf_map_delete_elem(m, &key); break;
        case 2: v = bpf_map_lookup_elem(m, &key); rc = v ? *v : -1000; break;
        case 3: rc = bpf_map_push_elem((o->code & 1) ? (void *)&s : (void *)&q, &val, flags & 2); break;
        case 4: rc = bpf_map_pop_elem((o->code & 1) ? (void *)&s : (void *)&q, &val);
                if (!rc) rc = val; break;
        case 5: rc = bpf_map_peek_elem((o->code & 1) ? (void *)&s : (void *)&q, &val);
                if (!rc) rc = val; break;
        default: v = bpf_map_lookup_elem(m, &key); if (v) { __sync_fetch_and_add(v, val); rc = *v; } else rc = -1; break;
        }
        rcs[i & 15] = rc;
    }
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
