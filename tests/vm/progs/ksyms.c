// __ksym variables: untyped (an address from kallsyms), typed per-CPU (runqueues),
// and weak ones that may be missing.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern const void bpf_init __ksym;
extern const void bpf_prog_put __ksym __weak;
extern const void vm_test_no_such_symbol __ksym __weak;
extern const struct rq runqueues __ksym;

__u64 init_addr = 0, put_addr = 0, missing_addr = 1;
__u64 nr_running = 99, cpu_far = 1;

SEC("xdp")
int untyped(struct xdp_md *ctx)
{
	init_addr = (__u64)&bpf_init;
	put_addr = (__u64)&bpf_prog_put;
	missing_addr = (__u64)&vm_test_no_such_symbol;
	return XDP_PASS;
}

SEC("?xdp")
int typed(struct xdp_md *ctx)
{
	struct rq *rq = bpf_this_cpu_ptr(&runqueues);

	nr_running = rq->nr_running;
	cpu_far = bpf_per_cpu_ptr(&runqueues, 100000) != 0;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
