// libbpf-tools pattern: alternatives chosen from user space before load.
// "?"-sections start with autoload off; the others may be turned off by the caller.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

extern int bpf_vm_test_no_such_kfunc(int x) __ksym;

int tail_ok(struct xdp_md *ctx);
int tail_optional(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, int (void *));
} jumps SEC(".maps") = {
	.values = { [0] = (void *)&tail_ok, [1] = (void *)&tail_optional },
};

SEC("?xdp")
int uses_missing_kfunc(struct xdp_md *ctx)
{
	return bpf_vm_test_no_such_kfunc(1);
}

SEC("?xdp")
int tail_optional(struct xdp_md *ctx)
{
	return XDP_TX;
}

SEC("xdp")
int tail_ok(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int xdp_main(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *slot = data;

	if ((void *)(slot + 1) > data_end)
		return XDP_ABORTED;
	bpf_tail_call(ctx, &jumps, *slot);
	return XDP_PASS;
}

SEC("xdp")
int also_missing_kfunc(struct xdp_md *ctx)
{
	return bpf_vm_test_no_such_kfunc(2);
}

char LICENSE[] SEC("license") = "GPL";
