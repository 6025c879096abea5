// A libbpf-style XDP program: BTF-defined maps, const volatile config, global
// data, a BPF-to-BPF call, a bounded loop, a tail call through a program array
// initialised in the object, and .kconfig externs.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} sizes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} percpu SEC(".maps");

int tail_target(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int (struct xdp_md *));
} jumps SEC(".maps") = {
	.values = { [2] = (void *)&tail_target },
};

const volatile __u32 verdict = XDP_PASS;
const volatile __u64 weight = 1;
const volatile char tag[8] = "default";
__u64 packets = 0;
__u64 checksum;
__u32 hz;
extern int CONFIG_HZ __kconfig;
extern unsigned int LINUX_KERNEL_VERSION __kconfig;
__u32 kernel_version;

static __noinline __u64 mix(__u64 acc, __u8 byte)
{
	return acc * 31 + byte * weight;
}

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
	__u32 k = 3;
	__u64 *v = bpf_map_lookup_elem(&stats, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_TX;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u32 len = end - data, zero = 0;
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&sizes, &len);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&sizes, &len, &one, BPF_NOEXIST);

	v = bpf_map_lookup_elem(&percpu, &zero);
	if (v)
		*v += 1;

	__u64 acc = 0;
	__u8 *p = data;
	for (int i = 0; i < 16; i++) {
		if ((void *)(p + i + 1) > end)
			break;
		acc = mix(acc, p[i]);
	}
	checksum = acc;
	packets++;
	hz = CONFIG_HZ;
	kernel_version = LINUX_KERNEL_VERSION;

	if (len == 100)
		bpf_tail_call(ctx, &jumps, 2);
	if (tag[0] == 'd')
		return verdict;
	return XDP_ABORTED;
}

char LICENSE[] SEC("license") = "GPL";
