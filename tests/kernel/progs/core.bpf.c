// CO-RE without vmlinux.h: local "flavoured" definitions that disagree with
// the kernel's layout on purpose. Relocations must give the kernel's values.
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct task_struct___mine {
	int pid;		/* the real one is far into the struct */
	int tgid;
	int no_such_field___;	/* absent from the kernel */
} __attribute__((preserve_access_index));

struct not_a_kernel_type___x {
	int a;
} __attribute__((preserve_access_index));

enum bpf_map_type___mine {
	BPF_MAP_TYPE_RINGBUF___mine = 1,	/* the kernel says 27 */
};

int which = 0;

SEC("socket")
int core_values(void *ctx)
{
	switch (which) {
	case 0:
		return bpf_core_field_offset(struct task_struct___mine, pid);
	case 1:
		return bpf_core_field_size(struct task_struct___mine, tgid);
	case 2:
		return bpf_core_field_exists(struct task_struct___mine, pid) +
		       2 * bpf_core_field_exists(struct task_struct___mine, no_such_field___);
	case 3:
		return bpf_core_type_exists(struct not_a_kernel_type___x) * 10 +
		       bpf_core_type_exists(struct task_struct___mine);
	case 4:
		return bpf_core_enum_value(enum bpf_map_type___mine, BPF_MAP_TYPE_RINGBUF___mine);
	}
	return -1;
}

SEC("socket")
int core_missing(void *ctx)
{
	/* a reachable access to a field the kernel does not have */
	return bpf_core_field_offset(struct task_struct___mine, no_such_field___);
}

char LICENSE[] SEC("license") = "GPL";
