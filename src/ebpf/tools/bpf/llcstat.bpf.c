// SPDX-License-Identifier: GPL-2.0
/* llcstat: last level cache references and misses per process and CPU, sampled
 * from hardware perf events (one program per event; the sample period is added
 * at each overflow). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

struct key_t {
	__u32 pid;
	__u32 tid;
	__u32 cpu;
	__u32 pad;
	char comm[TASK_COMM_LEN];
};

struct value_t {
	__u64 ref;
	__u64 miss;
};

const volatile __u64 period = 100;

HASH(infos, struct key_t, struct value_t, 10240);

static __always_inline int count(bool miss)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct key_t k = {};
	struct value_t *v, zero = {};

	k.pid = id >> 32;
	k.tid = (__u32)id;
	k.cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(k.comm, sizeof(k.comm));
	v = lookup_or_init(&infos, &k, &zero);
	if (!v)
		return 0;
	if (miss)
		__sync_fetch_and_add(&v->miss, period);
	else
		__sync_fetch_and_add(&v->ref, period);
	return 0;
}

SEC("perf_event")
int on_cache_miss(void *ctx) { return count(true); }

SEC("perf_event")
int on_cache_ref(void *ctx) { return count(false); }

char LICENSE[] SEC("license") = "GPL";
