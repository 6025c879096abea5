// SPDX-License-Identifier: GPL-2.0
/* gethostlatency: host name lookups (getaddrinfo, gethostbyname, gethostbyname2)
 * through uprobes on the C library: who asked for which host, how long it took. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "tools.h"

#define HOST_LEN 80

struct start_t {
	__u64 ts;
	const char *host;
};

struct event {
	__u64 delta_ns;
	__u32 pid;
	__u32 pad;
	char comm[TASK_COMM_LEN];
	char host[HOST_LEN];
};

const volatile __u32 target_pid = 0;

HASH(start, __u32, struct start_t, 10240);

EVENTS(struct event, 256 * 1024);

SEC("uprobe")
int BPF_UPROBE(lookup_enter, const char *host)
{
	struct start_t s = { .ts = bpf_ktime_get_ns(), .host = host };

	return thread_save(&start, &s, target_pid);
}

SEC("uretprobe")
int BPF_URETPROBE(lookup_return)
{
	__u64 id;
	struct start_t *s = thread_entry(&start, &id);
	struct event *e;

	if (!s)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->delta_ns = bpf_ktime_get_ns() - s->ts;
		e->pid = id >> 32;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_probe_read_user_str(e->host, sizeof(e->host), s->host);
		bpf_ringbuf_submit(e, 0);
	}
	thread_drop(&start, id);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
