// A TCP congestion control written as struct_ops (like the kernel's
// selftests' bpf_dctcp / libbpf-bootstrap examples): registering the struct
// makes "ebpf_cc" selectable with setsockopt(TCP_CONGESTION).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

__u64 inits, ssthresh_calls, cong_avoid_calls;

SEC("struct_ops/cc_init")
void BPF_PROG(cc_init, struct sock *sk)
{
	__sync_fetch_and_add(&inits, 1);
}

SEC("struct_ops/cc_ssthresh")
__u32 BPF_PROG(cc_ssthresh, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	__sync_fetch_and_add(&ssthresh_calls, 1);
	return tp->snd_cwnd > 4 ? tp->snd_cwnd >> 1 : 2;
}

SEC("struct_ops/cc_undo_cwnd")
__u32 BPF_PROG(cc_undo_cwnd, struct sock *sk)
{
	const struct tcp_sock *tp = (const struct tcp_sock *)sk;
	return tp->snd_cwnd;
}

SEC("struct_ops/cc_cong_avoid")
void BPF_PROG(cc_cong_avoid, struct sock *sk, __u32 ack, __u32 acked)
{
	__sync_fetch_and_add(&cong_avoid_calls, 1);
}

SEC("struct_ops/cc_unused")
void BPF_PROG(cc_unused, struct sock *sk)
{
}

SEC(".struct_ops")
struct tcp_congestion_ops ebpf_cc = {
	.init = (void *)cc_init,
	.ssthresh = (void *)cc_ssthresh,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.cong_avoid = (void *)cc_cong_avoid,
	.name = "ebpf_cc",
};

SEC(".struct_ops.link")
struct tcp_congestion_ops ebpf_cc_link = {
	.init = (void *)cc_init,
	.ssthresh = (void *)cc_ssthresh,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.cong_avoid = (void *)cc_cong_avoid,
	.name = "ebpf_cc_link",
};

char LICENSE[] SEC("license") = "GPL";
