// Every context field a program of each type may read, stored in a map, to
// compare the vm's contexts with the kernel's BPF_PROG_TEST_RUN contexts.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 40);
    __type(key, __u32);
    __type(value, __u64);
} f SEC(".maps");

#define PUT(i, v) do { __u32 _k = (i); __u64 _v = (v); \
    bpf_map_update_elem(&f, &_k, &_v, BPF_ANY); } while (0)

SEC("tc")
int tc_fields(struct __sk_buff *s)
{
    PUT(0, s->len); PUT(1, s->pkt_type); PUT(2, s->mark); PUT(3, s->queue_mapping);
    PUT(4, s->protocol); PUT(5, s->vlan_present); PUT(6, s->vlan_tci); PUT(7, s->vlan_proto);
    PUT(8, s->priority); PUT(9, s->ingress_ifindex); PUT(10, s->ifindex); PUT(11, s->tc_index);
    PUT(12, s->cb[0]); PUT(13, s->cb[4]); PUT(14, s->hash); PUT(15, s->tc_classid);
    PUT(16, s->data_end - s->data); PUT(17, s->napi_id); PUT(18, s->data - s->data_meta);
    PUT(19, s->tstamp); PUT(20, s->wire_len); PUT(21, s->gso_segs); PUT(22, s->gso_size);
    PUT(23, s->tstamp_type); PUT(24, s->hwtstamp);
    return 0;
}

SEC("socket")
int sock_fields(struct __sk_buff *s)
{
    PUT(0, s->len); PUT(1, s->pkt_type); PUT(2, s->mark); PUT(3, s->queue_mapping);
    PUT(4, s->protocol); PUT(5, s->vlan_present); PUT(6, s->vlan_tci); PUT(7, s->vlan_proto);
    PUT(8, s->priority); PUT(9, s->ingress_ifindex); PUT(10, s->ifindex);
    PUT(12, s->cb[0]); PUT(13, s->cb[4]); PUT(14, s->hash);
    PUT(17, s->napi_id);
    return s->len;
}

SEC("xdp")
int xdp_fields(struct xdp_md *x)
{
    PUT(0, x->data_end - x->data); PUT(1, x->data - x->data_meta);
    PUT(2, x->ingress_ifindex); PUT(3, x->rx_queue_index);
    return XDP_PASS;
}

SEC("cgroup_skb/ingress")
int cg_fields(struct __sk_buff *s)
{
    PUT(0, s->len); PUT(1, s->pkt_type); PUT(2, s->mark); PUT(4, s->protocol);
    PUT(8, s->priority); PUT(9, s->ingress_ifindex); PUT(10, s->ifindex);
    PUT(12, s->cb[0]); PUT(16, s->data_end - s->data);
    void *d = (void *)(long)s->data, *e = (void *)(long)s->data_end;
    if (d + 1 <= e)
        PUT(17, *(__u8 *)d);
    return 1;
}

char LICENSE[] SEC("license") = "GPL";
