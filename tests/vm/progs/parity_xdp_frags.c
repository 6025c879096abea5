// XDP multi-buffer frames (jumbo frames, GRO'd packets): the length across
// fragments, loads and stores that cross them, and growing/trimming the tail.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

long blen = -1, blen_after = -1;
long r_load = 9, r_store = 9, r_far = 9, r_past = 9, r_tail = 9;
__u8 got[64];
int tail_delta;

SEC("xdp.frags")
int frags(struct xdp_md *ctx)
{
	long len = bpf_xdp_get_buff_len(ctx);

	blen = len;
	r_far = bpf_xdp_load_bytes(ctx, 0x10000, got, 4);
	r_past = bpf_xdp_load_bytes(ctx, len - 8, got, 16);
	/* 64 bytes straddling the end of the linear part (3520 bytes) when there */
	r_load = bpf_xdp_load_bytes(ctx, len > 3600 ? 3490 : 0, got, 64);
	got[0] ^= 0xff;
	got[63] ^= 0xff;
	r_store = bpf_xdp_store_bytes(ctx, len > 3600 ? 3490 : 0, got, 64);
	r_tail = bpf_xdp_adjust_tail(ctx, tail_delta);
	blen_after = bpf_xdp_get_buff_len(ctx);
	return XDP_PASS;
}

SEC("xdp")
int linear_view(struct xdp_md *ctx)
{
	/* direct packet access sees the linear part only */
	return ctx->data_end - ctx->data;
}

char LICENSE[] SEC("license") = "GPL";
