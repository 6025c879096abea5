/* A socket filter that keeps short datagrams and drops long ones, deciding in a
 * second program reached through a tail call. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 max_len = 100; /* UDP payload bytes kept at most */

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} jump_table SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 3);
    __type(key, __u32);
    __type(value, __u64);
} verdicts SEC(".maps"); /* 0: kept, 1: dropped, 2: tail call missing */

static __always_inline void bump(__u32 idx)
{
    __u64 *v = bpf_map_lookup_elem(&verdicts, &idx);
    if (v)
        __sync_fetch_and_add(v, 1);
}

SEC("socket")
int check_length(struct __sk_buff *skb)
{
    /* on a UDP socket the filter sees the UDP header and the payload */
    if (skb->len > 8 + max_len) {
        bump(1);
        return 0;
    }
    bump(0);
    return skb->len;
}

SEC("socket")
int len_filter(struct __sk_buff *skb)
{
    bpf_tail_call(skb, &jump_table, 0);
    bump(2);
    return skb->len; /* no program in the table: keep everything */
}
