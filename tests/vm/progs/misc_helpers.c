// bpf_skb_ecn_set_ce (EDT pacers, CoDel-style AQM), bpf_send_signal /
// bpf_send_signal_thread (security tools), bpf_probe_write_user.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile int sig = 0;
long ecn_ret = -1, sig_ret = -1, sig_thread_ret = -1, bad_sig_ret = -1;

SEC("tc")
int ecn(struct __sk_buff *skb)
{
	ecn_ret = bpf_skb_ecn_set_ce(skb);
	return 0;
}

SEC("raw_tp/sys_enter")
int signal_me(void *ctx)
{
	sig_ret = bpf_send_signal(sig);
	sig_thread_ret = bpf_send_signal_thread(sig);
	bad_sig_ret = bpf_send_signal(1000);
	return 0;
}

__u64 target_word = 0;
long write_ret = -1, bad_write_ret = -1;

SEC("raw_tp/sys_enter")
int write_user(void *ctx)
{
	__u64 v = 0x1122334455667788;

	write_ret = bpf_probe_write_user(&target_word, &v, sizeof(v));
	bad_write_ret = bpf_probe_write_user((void *)8, &v, sizeof(v));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
