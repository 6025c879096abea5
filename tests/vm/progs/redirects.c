// Redirects as real XDP tools use them (xdp-tools' redirect/broadcast, xdp_fwd,
// cpumap load balancers): devmaps, broadcast, cpumaps, bad flags, devmap/cpumap
// programs, and a chain of tail calls. Run on both backends and compared.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u32);
} dev_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} dev_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} chain SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} hops SEC(".maps");

static __always_inline __u32 first_byte(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	unsigned char *end = (void *)(long)ctx->data_end;

	if (data + 15 > end)
		return 0;
	return data[14];	/* the byte after the Ethernet header picks the case */
}

SEC("xdp")
int bcast_hash(struct xdp_md *ctx)
{
	__u32 b = first_byte(ctx);

	if (b & 1)
		return bpf_redirect_map(&dev_hash, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	if (b & 2)
		return bpf_redirect_map(&dev_hash, b, BPF_F_BROADCAST);
	if (b & 4)
		return bpf_redirect_map(&dev_array, 0, BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS);
	return bpf_redirect_map(&dev_hash, b >> 3, XDP_PASS);
}

SEC("xdp")
int by_key(struct xdp_md *ctx)
{
	__u32 b = first_byte(ctx);

	if (b >= 0x80)			/* unknown flag bits: the kernel aborts */
		return bpf_redirect_map(&dev_array, 0, 1 << 5);
	if (b >= 0x40)
		return bpf_redirect_map(&cpus, b & 3, XDP_DROP);
	if (b >= 0x20)
		return bpf_redirect_map(&cpus, 0, BPF_F_BROADCAST);	/* not for cpumaps */
	if (b >= 0x10)
		return bpf_redirect(1, 0);
	return bpf_redirect_map(&dev_array, b & 3, XDP_TX);
}

SEC("xdp/devmap")
int on_devmap(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp/cpumap")
int on_cpumap(struct xdp_md *ctx)
{
	return XDP_PASS;
}

static __always_inline void hop(__u32 i)
{
	__u64 *n = bpf_map_lookup_elem(&hops, &i);

	if (n)
		*n += 1;
}

SEC("xdp")
int chain_2(struct xdp_md *ctx)
{
	hop(2);
	return bpf_redirect_map(&dev_hash, first_byte(ctx), XDP_DROP);
}

SEC("xdp")
int chain_1(struct xdp_md *ctx)
{
	hop(1);
	bpf_tail_call(ctx, &chain, 2);
	return XDP_ABORTED;
}

SEC("xdp")
int chain_0(struct xdp_md *ctx)
{
	hop(0);
	bpf_tail_call(ctx, &chain, first_byte(ctx) & 1 ? 1 : 3);	/* 3: empty slot */
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
