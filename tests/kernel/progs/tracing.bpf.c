// Tracing programs whose load needs kernel BTF: tp_btf (attach_btf_id of the
// btf_trace_* typedef) calling kfuncs on a task and using task storage, an
// iterator, fentry and LSM hooks (refused under kernel lockdown), and classic
// raw tracepoint / tracepoint programs with a ring buffer.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct event {
	__u32 pid;
	char comm[16];
	__u64 ts;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct event);
} last SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} execs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} rb SEC(".maps");

extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void bpf_not_a_real_kfunc(void) __ksym __weak;

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct task_struct *t = bpf_task_acquire(p);
	if (!t)
		return 0;
	__u64 *v = bpf_task_storage_get(&execs, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (v)
		*v += 1;
	bpf_task_release(t);
	if (bpf_not_a_real_kfunc)
		bpf_not_a_real_kfunc();
	return 0;
}

SEC("iter/task")
int dump_task(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	if (!task)
		return 0;
	BPF_SEQ_PRINTF(ctx->meta->seq, "%d\n", task->pid);
	return 0;
}

SEC("fentry/do_unlinkat")
int BPF_PROG(on_unlink, int dfd, struct filename *name)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct event e = { .pid = pid, .ts = bpf_ktime_get_ns() };
	bpf_get_current_comm(e.comm, sizeof(e.comm));
	bpf_map_update_elem(&last, &pid, &e, BPF_ANY);
	return 0;
}

SEC("lsm/file_open")
int BPF_PROG(on_open, struct file *file)
{
	return 0;
}

SEC("raw_tp/sched_switch")
int on_switch(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int on_openat(void *ctx)
{
	__u32 *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (e) {
		*e = bpf_get_current_pid_tgid() >> 32;
		bpf_ringbuf_submit(e, 0);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
