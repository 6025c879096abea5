// SPDX-License-Identifier: GPL-2.0
/* filelife: files created and then deleted, with their age. The classic hooks
 * (vfs_create/vfs_unlink) need kprobes or fentry; here the path given to
 * openat(O_CREAT)/creat()/mknodat() starts a file's life and the same path given
 * to unlink()/unlinkat() ends it (syscall tracepoints). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "tools.h"

#define PATH_LEN 256
#define O_CREAT 0100

struct path_key {
	char path[PATH_LEN];
};

struct born {
	__u64 ts;
};

struct pending {
	const char *path;
};

struct event {
	__u64 age_ns;
	__u32 pid;
	__u32 pad;
	char comm[TASK_COMM_LEN];
	char path[PATH_LEN];
};

const volatile __u32 target_pid = 0;

HASH(creating, __u32, struct pending, 10240);

MAP(births, BPF_MAP_TYPE_LRU_HASH, struct path_key, struct born, 8192);

MAP(scratch, BPF_MAP_TYPE_PERCPU_ARRAY, __u32, struct path_key, 1);

EVENTS(struct event, 256 * 1024);

static __always_inline int create_enter(const char *path)
{
	struct pending p = { .path = path };

	return thread_save(&creating, &p, target_pid);
}

static __always_inline int create_exit(long ret)
{
	__u64 id;
	struct pending *p = thread_entry(&creating, &id);
	__u32 zero = 0;
	struct path_key *k;
	struct born b;

	if (!p)
		return 0;
	k = bpf_map_lookup_elem(&scratch, &zero);
	if (k && ret >= 0) {
		__builtin_memset(k, 0, sizeof(*k));
		bpf_probe_read_user_str(k->path, sizeof(k->path), p->path);
		b.ts = bpf_ktime_get_ns();
		bpf_map_update_elem(&births, k, &b, BPF_ANY);
	}
	thread_drop(&creating, id);
	return 0;
}

static __always_inline int unlink_enter(const char *path)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 zero = 0;
	struct path_key *k = bpf_map_lookup_elem(&scratch, &zero);
	struct born *b;
	struct event *e;

	if (!k)
		return 0;
	__builtin_memset(k, 0, sizeof(*k));
	bpf_probe_read_user_str(k->path, sizeof(k->path), path);
	b = bpf_map_lookup_elem(&births, k);
	if (!b)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->age_ns = bpf_ktime_get_ns() - b->ts;
		e->pid = id >> 32;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		__builtin_memcpy(e->path, k->path, PATH_LEN);
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&births, k);
	return 0;
}

SYSCALL_HOOKS(openat, openat,
	      ctx->args[2] & O_CREAT ? create_enter((const char *)ctx->args[1]) : 0,
	      create_exit(ctx->ret))
SYSCALL_HOOKS(creat, creat, create_enter((const char *)ctx->args[0]), create_exit(ctx->ret))
SYSCALL_HOOKS(mknodat, mknodat, create_enter((const char *)ctx->args[1]), create_exit(ctx->ret))
SEC("tracepoint/syscalls/sys_enter_unlink")
int unlink_entry(struct trace_event_raw_sys_enter *ctx) { return unlink_enter((const char *)ctx->args[0]); }
SEC("tracepoint/syscalls/sys_enter_unlinkat")
int unlinkat_entry(struct trace_event_raw_sys_enter *ctx) { return unlink_enter((const char *)ctx->args[1]); }

char LICENSE[] SEC("license") = "GPL";
