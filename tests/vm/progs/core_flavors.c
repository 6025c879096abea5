// CO-RE the way libbpf-tools adapt to the running kernel (core_fixes.bpf.h,
// compat.bpf.h): local "flavor" types, field/type/enum existence checks, and a
// read guarded by an existence check of a field no kernel has.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___vmt {
	int pid;
	int tgid;
	int vm_test_no_such_field;
} __attribute__((preserve_access_index));

struct task_struct___old {
	long state;
} __attribute__((preserve_access_index));

enum bpf_map_type___vmt { BPF_MAP_TYPE_RINGBUF___vmt = 1234, BPF_MAP_TYPE_VMT_NOPE___vmt = 99 };

struct vm_test_no_such_type___vmt { int x; } __attribute__((preserve_access_index));

__u64 off_pid = 0, sz_task = 0, has_missing = 9, has_pid = 9, has_old_state = 9;
__u64 ringbuf_value = 0, nope_exists = 9, type_missing_exists = 9;
__s32 pid = 0, tgid = 0, missing = -1;

SEC("raw_tp/sys_enter")
int flavors(void *ctx)
{
	struct task_struct___vmt *t = (void *)bpf_get_current_task();
	struct task_struct___old *o = (void *)t;

	off_pid = bpf_core_field_offset(struct task_struct___vmt, pid);
	sz_task = bpf_core_type_size(struct task_struct___vmt);
	has_missing = bpf_core_field_exists(struct task_struct___vmt, vm_test_no_such_field);
	has_pid = bpf_core_field_exists(t->pid);
	has_old_state = bpf_core_field_exists(o->state);
	ringbuf_value = bpf_core_enum_value(enum bpf_map_type___vmt, BPF_MAP_TYPE_RINGBUF___vmt);
	nope_exists = bpf_core_enum_value_exists(enum bpf_map_type___vmt,
						 BPF_MAP_TYPE_VMT_NOPE___vmt);
	type_missing_exists = bpf_core_type_exists(struct vm_test_no_such_type___vmt);
	pid = BPF_CORE_READ(t, pid);
	tgid = BPF_CORE_READ(t, tgid);
	if (bpf_core_field_exists(t->vm_test_no_such_field))
		missing = BPF_CORE_READ(t, vm_test_no_such_field);
	return 0;
}

SEC("raw_tp/sys_enter")
int unguarded(void *ctx)
{
	struct task_struct___vmt *t = (void *)bpf_get_current_task();

	missing = BPF_CORE_READ(t, vm_test_no_such_field);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
