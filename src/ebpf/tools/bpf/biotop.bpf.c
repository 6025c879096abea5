// SPDX-License-Identifier: GPL-2.0
/* biotop: block I/O per process, disk and direction: count, bytes, latency. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"
#include "bio.h"

struct info_t {
	__u32 pid;
	__u32 dev;
	__u32 rwflag;
	__u32 pad;
	char comm[TASK_COMM_LEN];
};

struct val_t {
	__u64 bytes;
	__u64 us;
	__u64 io;
};

const volatile __u32 target_pid = 0;

HASH(counts, struct info_t, struct val_t, 10240);

static __always_inline int on_complete(struct request *rq, __u64 now)
{
	struct rq_start s;
	struct info_t k = {};
	struct val_t *v, zero = {};

	if (rq_done(rq, &s))
		return 0;
	if (target_pid && s.pid != target_pid)
		return 0;
	k.pid = s.pid;
	k.dev = rq_dev(rq);
	k.rwflag = (BPF_CORE_READ(rq, cmd_flags) & 0xff) == 1;	/* REQ_OP_WRITE */
	__builtin_memcpy(k.comm, s.comm, TASK_COMM_LEN);
	v = lookup_or_init(&counts, &k, &zero);
	if (!v)
		return 0;
	__sync_fetch_and_add(&v->bytes, BPF_CORE_READ(rq, __data_len));
	__sync_fetch_and_add(&v->us, (now - s.issue_ns) / 1000);
	__sync_fetch_and_add(&v->io, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
