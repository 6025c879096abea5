// SPDX-License-Identifier: GPL-2.0
/* Every probe wrapper macro: kprobe/kretprobe, ksyscall, uprobe/uretprobe,
 * fentry/fexit, plus PT_REGS_* access done by hand. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

pid_t target_pid = 0;
long last_ret = 0;

SEC("kprobe/do_unlinkat")
int BPF_KPROBE(do_unlinkat, int dfd, struct filename *name)
{
	const char *filename = BPF_CORE_READ(name, name);

	bpf_printk("KPROBE ENTRY pid = %d, filename = %s\n",
		   bpf_get_current_pid_tgid() >> 32, filename);
	return 0;
}

SEC("kretprobe/do_unlinkat")
int BPF_KRETPROBE(do_unlinkat_exit, long ret)
{
	last_ret = ret;
	return 0;
}

SEC("ksyscall/kill")
int BPF_KSYSCALL(entry_probe, pid_t pid, int sig)
{
	char comm[TASK_COMM_LEN];

	if (sig == 0)
		return 0;
	bpf_get_current_comm(&comm, sizeof(comm));
	bpf_printk("KILL syscall called with PID %d, SIG %d, COMM %s", pid, sig, comm);
	return 0;
}

SEC("kprobe/__x64_sys_openat")
int raw_regs(struct pt_regs *ctx)
{
	struct pt_regs *regs = PT_REGS_SYSCALL_REGS(ctx);
	const char *path = (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs);
	long ip = PT_REGS_IP_CORE(ctx), sp = PT_REGS_SP_CORE(ctx);
	char buf[32];

	bpf_probe_read_user_str(buf, sizeof(buf), path);
	bpf_printk("openat %s ip=%lx sp=%lx", buf, ip, sp);
	return 0;
}

SEC("uprobe")
int BPF_UPROBE(uprobe_add, int a, int b)
{
	bpf_printk("uprobed_add ENTRY: a = %d, b = %d", a, b);
	return 0;
}

SEC("uretprobe")
int BPF_URETPROBE(uretprobe_add, int ret)
{
	last_ret = ret;
	return 0;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(fentry_unlinkat, int dfd, struct filename *name)
{
	bpf_printk("fentry: filename = %s\n", name->name);
	return 0;
}

SEC("fexit/do_unlinkat")
int BPF_PROG(fexit_unlinkat, int dfd, struct filename *name, long ret)
{
	last_ret = ret;
	return 0;
}

SEC("fentry/tcp_sendmsg")
int BPF_PROG2(tcp_send, struct sock *, sk, struct msghdr *, msg, size_t, size)
{
	if (size > 1000)
		bpf_printk("big send %lu", size);
	return 0;
}
