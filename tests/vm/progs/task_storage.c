// Per-task state in task local storage (runqslower-style start times, per-task
// counters): get with F_CREATE and an initial value, update, delete.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct counter {
	__u64 runs;
	__u64 seed;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct counter);
} per_task SEC(".maps");

__u64 runs = 0, seed = 0;
long missing_before = -1, deleted = -1, delete_again = -1, after_delete = -1, bad_flags = -1;

SEC("raw_tp/sys_enter")
int count(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct counter init = { .runs = 0, .seed = 42 }, *c;

	c = bpf_task_storage_get(&per_task, t, &init, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!c)
		return 1;
	c->runs++;
	runs = c->runs;
	seed = c->seed;
	bad_flags = bpf_task_storage_get(&per_task, t, 0, 2) != 0;
	return 0;
}

SEC("raw_tp/sys_enter")
int forget(void *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();

	deleted = bpf_task_storage_delete(&per_task, t);
	delete_again = bpf_task_storage_delete(&per_task, t);
	after_delete = bpf_task_storage_get(&per_task, t, 0, 0) != 0;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
