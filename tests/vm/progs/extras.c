// Load-balancer style redirects through a DEVMAP, .kconfig externs, strncmp,
// and a tracing program that reads the current task (loadable in the vm).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP);
    __uint(max_entries, 4);
    __type(key, __u32);
    __type(value, __u32);
} tx SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 8);
    __type(key, __u32);
    __type(value, __u64);
} out SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_STACK_TRACE);
    __uint(max_entries, 16);
    __uint(key_size, sizeof(__u32));
    __uint(value_size, 127 * sizeof(__u64));
} stacks SEC(".maps");

extern int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig __weak;
extern _Bool CONFIG_BPF_SYSCALL __kconfig __weak;

static void put(__u32 k, __u64 v) { bpf_map_update_elem(&out, &k, &v, BPF_ANY); }

SEC("xdp")
int lb(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 1 > end)
        return XDP_ABORTED;
    __u32 slot = *(__u8 *)data & 3;
    put(0, LINUX_KERNEL_VERSION);
    put(1, CONFIG_HZ);
    put(2, CONFIG_BPF_SYSCALL);
    char name[8] = "eth0";
    put(3, bpf_strncmp(name, sizeof(name), "eth0"));
    put(4, bpf_strncmp(name, 4, "eth1") < 0);
    return bpf_redirect_map(&tx, slot, XDP_PASS);
}

SEC("raw_tp/sched_switch")
int on_switch(void *ctx)
{
    __u32 k = 5;
    __u64 v = bpf_get_stackid(ctx, &stacks, 0) < 0;
    bpf_map_update_elem(&out, &k, &v, BPF_ANY);
    return 0;
}

char LICENSE[] SEC("license") = "GPL";
