// Reads the packet without checking its end: the verifier must refuse it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

SEC("xdp")
int no_bounds_check(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	return data[20] == 0x45 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
