// Generic argument access as retsnoop-style tracers use it (the function's
// arity from BTF, its return value in fexit). fentry/fexit cannot load on this
// locked-down kernel: checked on the vm.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

long cnt = -1, a0 = -1, a1 = -1, past = 9, ret_in_entry = 9, ret = -1, got_ret = 9;

SEC("fentry/do_unlinkat")
int BPF_PROG(on_entry, int dfd, struct filename *name)
{
	__u64 v = 0;

	cnt = bpf_get_func_arg_cnt(ctx);
	bpf_get_func_arg(ctx, 0, &v);
	a0 = v;
	bpf_get_func_arg(ctx, 1, &v);
	a1 = v;
	past = bpf_get_func_arg(ctx, 2, &v);
	ret_in_entry = bpf_get_func_ret(ctx, &v);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(on_exit, int dfd, struct filename *name, long r)
{
	__u64 v = 0;

	got_ret = bpf_get_func_ret(ctx, &v);
	ret = v;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
