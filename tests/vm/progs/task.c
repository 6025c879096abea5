// Identity helpers and a spin-locked counter: the kernel's test_run runs in the
// calling task, so pid/tgid, uid/gid and comm are the test process's in both.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct ident { __u64 pid_tgid; __u64 uid_gid; char comm[16]; __u32 cpu; __u32 numa; };
struct ident ident = {};

struct val { struct bpf_spin_lock lock; __u64 count; __u64 sum; };
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct val);
} locked SEC(".maps");

SEC("raw_tp/sys_enter")
int who(void *ctx)
{
    ident.pid_tgid = bpf_get_current_pid_tgid();
    ident.uid_gid = bpf_get_current_uid_gid();
    bpf_get_current_comm(ident.comm, sizeof(ident.comm));
    ident.cpu = bpf_get_smp_processor_id();
    ident.numa = bpf_get_numa_node_id();
    return 0;
}

SEC("xdp")
int count_locked(struct xdp_md *ctx)
{
    __u32 k = 0;
    struct val *v = bpf_map_lookup_elem(&locked, &k);
    if (!v)
        return XDP_ABORTED;
    bpf_spin_lock(&v->lock);
    v->count++;
    v->sum += ctx->data_end - ctx->data;
    bpf_spin_unlock(&v->lock);
    return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
