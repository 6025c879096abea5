// A global function and a freplace program that replaces it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
__noinline int check(int x) { return x > 10; }
SEC("xdp") int target(struct xdp_md *ctx) { return check(ctx->data_end - ctx->data) ? XDP_PASS : XDP_DROP; }
SEC("freplace/check") int new_check(int x) { return 1; }
char LICENSE[] SEC("license") = "GPL";
