// SPDX-License-Identifier: GPL-2.0
/* bashreadline: commands typed into bash: a uretprobe on readline() returns the
 * line entered. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tools.h"

#define LINE_LEN 120

struct event {
	__u32 pid;
	__u32 pad;
	char comm[TASK_COMM_LEN];
	char line[LINE_LEN];
};


EVENTS(struct event, 64 * 1024);

SEC("uretprobe")
int BPF_URETPROBE(readline_return, const char *ret)
{
	struct event *e;
	char comm[TASK_COMM_LEN];

	if (!ret)
		return 0;
	bpf_get_current_comm(comm, sizeof(comm));
	/* only bash itself (other programs link readline too) */
	if (comm[0] != 'b' || comm[1] != 'a' || comm[2] != 's' || comm[3] != 'h' || comm[4])
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	__builtin_memcpy(e->comm, comm, TASK_COMM_LEN);
	bpf_probe_read_user_str(e->line, sizeof(e->line), ret);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
