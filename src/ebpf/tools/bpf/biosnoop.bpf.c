// SPDX-License-Identifier: GPL-2.0
/* biosnoop: one event per block I/O: who, disk, direction, sector, size, latency. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"
#include "bio.h"

struct event {
	__u64 ts_ns;
	__u64 sector;
	__u64 delta_ns;
	__u64 queue_ns;
	__u32 pid;
	__u32 dev;
	__u32 cmd_flags;
	__u32 bytes;
	char comm[TASK_COMM_LEN];
};


EVENTS(struct event, 256 * 1024);

static __always_inline int on_complete(struct request *rq, __u64 now)
{
	struct rq_start s;
	struct event *e;

	if (rq_done(rq, &s))
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->ts_ns = now;
	e->sector = BPF_CORE_READ(rq, __sector);
	e->bytes = BPF_CORE_READ(rq, __data_len);
	e->delta_ns = now - s.issue_ns;
	e->queue_ns = s.insert_ns ? s.issue_ns - s.insert_ns : 0;
	e->pid = s.pid;
	e->dev = rq_dev(rq);
	e->cmd_flags = BPF_CORE_READ(rq, cmd_flags);
	__builtin_memcpy(e->comm, s.comm, TASK_COMM_LEN);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
