// A task kept in a map value as a referenced kptr, as schedulers and security
// monitors keep objects across runs: stored with bpf_kptr_xchg, loaded back,
// swapped out and released; the same object on the kernel and on the vm.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;

struct val {
	long tag;
	struct task_struct __kptr *task;
	struct task_struct __kptr_untrusted *seen;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, int);
	__type(value, struct val);
} tasks SEC(".maps");

const volatile s32 target = 0;
long out[8];

SEC("syscall")
int keep(void *ctx)
{
	int k = 0;
	struct val *v = bpf_map_lookup_elem(&tasks, &k);
	struct task_struct *t, *old;

	if (!v)
		return 1;
	t = bpf_task_from_pid(target);
	if (!t)
		return 2;
	v->tag = 7;
	old = bpf_kptr_xchg(&v->task, t);	/* the slot was empty */
	out[0] = old != NULL;
	if (old)
		bpf_task_release(old);
	t = v->task;				/* loaded back: possibly NULL, untrusted */
	if (t) {
		out[1] = t->pid;
		v->seen = t;			/* an untrusted kptr takes a plain store */
	}
	t = v->seen;
	out[2] = t ? t->tgid : -1;
	return 0;
}

SEC("syscall")
int take(void *ctx)
{
	int k = 0;
	struct val *v = bpf_map_lookup_elem(&tasks, &k);
	struct task_struct *old;

	if (!v)
		return 1;
	old = bpf_kptr_xchg(&v->task, NULL);	/* the task kept by keep() */
	out[3] = old ? old->pid : -1;
	if (old)
		bpf_task_release(old);
	old = bpf_kptr_xchg(&v->task, NULL);	/* now empty */
	out[4] = old != NULL;
	if (old)
		bpf_task_release(old);
	v->seen = NULL;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
