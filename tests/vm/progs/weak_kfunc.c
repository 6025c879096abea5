// Optional kfuncs, the portable way: __weak __ksym + bpf_ksym_exists().
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern int bpf_vm_test_missing_kfunc(int x) __weak __ksym;

int has_missing = -1, has_iter = -1;

SEC("xdp")
int guarded(struct xdp_md *ctx)
{
	has_missing = bpf_ksym_exists(bpf_vm_test_missing_kfunc);
	has_iter = bpf_ksym_exists(bpf_iter_num_new);
	if (bpf_ksym_exists(bpf_vm_test_missing_kfunc))
		return bpf_vm_test_missing_kfunc(1);
	return XDP_PASS;
}

SEC("?xdp")
int unguarded(struct xdp_md *ctx)
{
	return bpf_vm_test_missing_kfunc(1);
}

char LICENSE[] SEC("license") = "GPL";
