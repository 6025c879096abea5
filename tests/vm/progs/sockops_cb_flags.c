// A sock_ops program that asks for TCP callbacks, as RTT and state trackers do:
// the flags it asks for, the helper's answer and the flags the context then holds.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

int want;
long ret;
__u32 flags_after;

SEC("sockops")
int ask_callbacks(struct bpf_sock_ops *skops)
{
	ret = bpf_sock_ops_cb_flags_set(skops, want);
	flags_after = skops->bpf_sock_ops_cb_flags;
	return 1;
}

char LICENSE[] SEC("license") = "GPL";
