// SPDX-License-Identifier: GPL-2.0
/* bindsnoop: bind() calls: the address asked for, the socket's protocol and
 * options, the result. Tracepoints syscalls/sys_{enter,exit}_bind; the socket is
 * found from the fd through task->files (CO-RE). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "tools.h"

struct args_t {
	const void *addr;
	__u32 fd;
};

struct event {
	__u32 pid;
	__s32 ret;
	__u16 family;
	__u16 port;
	__u16 proto;
	__u8 opts;	/* bit 0 SO_REUSEADDR, 1 SO_REUSEPORT, 2 IP_FREEBIND, 3 IP_TRANSPARENT */
	__u8 pad;
	__u32 bound_dev_if;
	__u8 addr[16];
	char comm[TASK_COMM_LEN];
};

const volatile __u32 target_pid = 0;
const volatile bool failed_only = 0;

HASH(start, __u32, struct args_t, 10240);

EVENTS(struct event, 256 * 1024);

SEC("tracepoint/syscalls/sys_enter_bind")
int bind_entry(struct trace_event_raw_sys_enter *ctx)
{
	struct args_t a = { .addr = (const void *)ctx->args[1], .fd = ctx->args[0] };

	return thread_save(&start, &a, target_pid);
}

static __always_inline struct sock *fd_sock(__u32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct file **fds = BPF_CORE_READ(task, files, fdt, fd);
	struct file *f = NULL;
	struct socket *sock;

	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	return sock ? BPF_CORE_READ(sock, sk) : NULL;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int bind_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id;
	struct args_t *a = thread_entry(&start, &id);
	struct sockaddr_in6 sa = {};
	struct inet_sock *inet;
	struct event *e;
	struct sock *sk;

	if (!a)
		return 0;
	if (failed_only && ctx->ret >= 0)
		goto out;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		goto out;
	__builtin_memset(e, 0, sizeof(*e));
	e->pid = id >> 32;
	e->ret = ctx->ret;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user(&sa, sizeof(sa), a->addr);
	e->family = sa.sin6_family;
	e->port = __builtin_bswap16(sa.sin6_port);
	if (sa.sin6_family == 2)
		__builtin_memcpy(e->addr, &((struct sockaddr_in *)&sa)->sin_addr, 4);
	else
		__builtin_memcpy(e->addr, &sa.sin6_addr, 16);
	sk = fd_sock(a->fd);
	if (sk) {
		inet = (struct inet_sock *)sk;
		e->proto = BPF_CORE_READ(sk, sk_protocol);
		e->bound_dev_if = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
		if (BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuse))
			e->opts |= 1;
		if (BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_reuseport))
			e->opts |= 2;
		if (bpf_core_field_exists(inet->inet_flags)) {
			unsigned long flags = BPF_CORE_READ(inet, inet_flags);

			if (flags & (1UL << INET_FLAGS_FREEBIND))
				e->opts |= 4;
			if (flags & (1UL << INET_FLAGS_TRANSPARENT))
				e->opts |= 8;
		}
	}
	bpf_ringbuf_submit(e, 0);
out:
	thread_drop(&start, id);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
