// SPDX-License-Identifier: GPL-2.0
/* USDT argument access with BPF_USDT / bpf_usdt_arg / bpf_usdt_cookie. The
 * program sits in a plain "uprobe" section so a test can attach it anywhere
 * and describe the arguments itself in __bpf_usdt_specs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

const volatile int target_tgid = 0;

long got_a = 0, got_b = 0, got_c = 0, got_missing_err = 0;
long got_cookie = 0;
int got_cnt = 0;

SEC("uprobe")
int BPF_USDT(on_usdt, long a, long b, int c)
{
	long unused;

	if ((bpf_get_current_pid_tgid() >> 32) != target_tgid)
		return 0;
	got_a = a;
	got_b = b;
	got_c = c;
	got_cnt = bpf_usdt_arg_cnt(ctx);
	got_cookie = bpf_usdt_cookie(ctx);
	got_missing_err = bpf_usdt_arg(ctx, 5, &unused);
	return 0;
}

SEC("usdt/libc.so.6:libc:setjmp")
int BPF_USDT(libc_setjmp, void *env, int savemask)
{
	return savemask;
}

char LICENSE[] SEC("license") = "GPL";
