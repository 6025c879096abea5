// tc programs that resize the packet: bpf_skb_change_tail / bpf_skb_change_head.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __s64);
} f SEC(".maps");

#define PUT(i, v) do { __u32 _k = (i); __s64 _v = (v); \
    bpf_map_update_elem(&f, &_k, &_v, BPF_ANY); } while (0)

volatile const __s32 grow = 100;
volatile const __u32 head = 0;

SEC("tc")
int resize(struct __sk_buff *s)
{
    PUT(0, bpf_skb_change_tail(s, s->len + grow, 0));
    PUT(1, s->len);
    PUT(2, s->data_end - s->data);
    PUT(3, bpf_skb_change_tail(s, 13, 0));
    PUT(4, bpf_skb_change_tail(s, 14, 1));
    if (head) {
        PUT(5, bpf_skb_change_head(s, head, 0));
        void *d = (void *)(long)s->data, *e = (void *)(long)s->data_end;
        if (d + 1 <= e)
            *(__u8 *)d = 0xee;
        PUT(6, s->len);
    }
    PUT(7, bpf_skb_change_head(s, 1, 1));
    return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
