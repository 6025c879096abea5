// A task iterator as bpftool's "pids" and process listers write one: a header,
// one line per task, bytes written raw. Iterators cannot load on a locked-down
// kernel: its runs are checked on the vm.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

long write_ret = 9, printf_ret = 9, bad_ret = 9, btf_ret = 9;
struct ethhdr eth = {.h_proto = 8};

SEC("iter/task")
int list_tasks(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	static const char header[] = "pid comm\n";
	static const char bad_fmt[4] = "%d%d";
	__u64 args[1] = {7};

	if (ctx->meta->seq_num == 0)
		write_ret = bpf_seq_write(seq, header, sizeof(header) - 1);
	if (!task) {
		struct btf_ptr p = {.ptr = &eth, .type_id = bpf_core_type_id_kernel(struct ethhdr)};

		btf_ret = bpf_seq_printf_btf(seq, &p, sizeof(p), BTF_F_COMPACT);
		bad_ret = bpf_seq_printf(seq, bad_fmt, sizeof(bad_fmt), args, sizeof(args));
		return 0;
	}
	BPF_SEQ_PRINTF(seq, "%d %s\n", task->pid, "task");
	printf_ret = bpf_seq_printf(seq, "%llx\n", 5, args, 3);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
