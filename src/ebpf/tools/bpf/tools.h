/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the tools' BPF programs: map declarations, log2 slots, counters,
 * per-thread entry records, stack keys and socket endpoints. The examples that
 * link to a tool's source (examples/NAME/NAME.bpf.c) link to this header too
 * (examples/NAME/tools.h), so they compile where they are. */
#ifndef EBPF_TOOLS_H
#define EBPF_TOOLS_H

#define TASK_COMM_LEN 16
#define MAX_SLOTS 27
#define MAX_DEPTH 127

struct hist {
	__u32 slots[MAX_SLOTS];
};

/* ---- maps ------------------------------------------------------------------ */
/* NAME: a map of MAP_TYPE from KEY_TYPE to VALUE_TYPE, ENTRIES at most */
#define MAP(name, map_type, key_type, value_type, entries)		\
struct {								\
	__uint(type, map_type);						\
	__uint(max_entries, entries);					\
	__type(key, key_type);						\
	__type(value, value_type);					\
} name SEC(".maps")

#define HASH(name, key_type, value_type, entries)			\
	MAP(name, BPF_MAP_TYPE_HASH, key_type, value_type, entries)

/* the ring buffer "events" (BYTES long) of records of type T; naming T puts it in
 * the object's BTF, so front ends decode the records by name */
#define EVENTS(T, bytes)						\
const T *unused_event __attribute__((unused));				\
struct {								\
	__uint(type, BPF_MAP_TYPE_RINGBUF);				\
	__uint(max_entries, bytes);					\
} events SEC(".maps")

/* NAME: ENTRIES stack traces of MAX_DEPTH frames of type FRAME, with FLAGS */
#define STACKS(name, frame, entries, flags)				\
struct {								\
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);				\
	__uint(key_size, sizeof(__u32));				\
	__uint(value_size, MAX_DEPTH * sizeof(frame));			\
	__uint(max_entries, entries);					\
	__uint(map_flags, flags);					\
} name SEC(".maps")

/* floor(log2(v)) for v > 0, 0 for 0 */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;

	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* the value at key, inserted as *init first when absent */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *init)
{
	void *val = bpf_map_lookup_elem(map, key);

	if (val)
		return val;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* slot log2(v) of a histogram of SLOTS slots (the last one takes the rest) */
static __always_inline __u32 log2_slot(__u64 v, __u32 slots)
{
	__u32 slot = log2_u64(v);

	return slot < slots ? slot : slots - 1;
}

/* add 1 to slot log2(v) of the histogram at key */
static __always_inline void hist_add(void *map, const void *key, __u64 v)
{
	static const struct hist zero;
	struct hist *h = lookup_or_init(map, key, &zero);

	if (h)
		__sync_fetch_and_add(&h->slots[log2_slot(v, MAX_SLOTS)], 1);
}

/* add 1 to slot log2(v) of an array map of SLOTS __u64 counters */
static __always_inline void array_hist_add(void *map, __u64 v, __u32 slots)
{
	__u32 slot = log2_slot(v, slots);
	__u64 *count = bpf_map_lookup_elem(map, &slot);

	if (count)
		__sync_fetch_and_add(count, 1);
}

static __always_inline void count_add(void *map, const void *key, __u64 n)
{
	static const __u64 zero;
	__u64 *c = lookup_or_init(map, key, &zero);

	if (c)
		__sync_fetch_and_add(c, n);
}

/* ---- per-thread entry records (syscall or function entry -> its return) ---- */
/* the current thread's id in *tid; false when target_tgid is set and the
 * current process is another one */
static __always_inline bool thread_wanted(__u32 target_tgid, __u32 *tid)
{
	__u64 id = bpf_get_current_pid_tgid();

	*tid = (__u32)id;
	return !target_tgid || (id >> 32) == target_tgid;
}

/* keep *val in map under the current thread's id (when the process is wanted) */
static __always_inline int thread_save(void *map, const void *val, __u32 target_tgid)
{
	__u32 tid;

	if (thread_wanted(target_tgid, &tid))
		bpf_map_update_elem(map, &tid, val, BPF_ANY);
	return 0;
}

/* keep the time now in map under the current thread's id (when wanted) */
static __always_inline int thread_stamp(void *map, __u32 target_tgid)
{
	__u32 tid;
	__u64 ts;

	if (thread_wanted(target_tgid, &tid)) {
		ts = bpf_ktime_get_ns();
		bpf_map_update_elem(map, &tid, &ts, BPF_ANY);
	}
	return 0;
}

/* the current thread's entry in map (NULL when none); *id gets the current
 * bpf_get_current_pid_tgid() (process id << 32 | thread id) */
static __always_inline void *thread_entry(void *map, __u64 *id)
{
	__u32 tid;

	*id = bpf_get_current_pid_tgid();
	tid = (__u32)*id;
	return bpf_map_lookup_elem(map, &tid);
}

/* remove the entry of thread id (as thread_entry gave it) from map */
static __always_inline void thread_drop(void *map, __u64 id)
{
	__u32 tid = (__u32)id;

	bpf_map_delete_elem(map, &tid);
}

/* nanoseconds since the current thread's stamp in map, into *delta, the stamp
 * removed; false when there is none */
static __always_inline bool thread_elapsed(void *map, __u64 *delta)
{
	__u64 id, *tsp = thread_entry(map, &id);

	if (!tsp)
		return false;
	*delta = bpf_ktime_get_ns() - *tsp;
	thread_drop(map, id);
	return true;
}

/* programs NAME_entry and NAME_exit on the tracepoints of SYSCALL's entry and
 * exit: they return ON_ENTER (ctx: struct trace_event_raw_sys_enter) and ON_EXIT
 * (ctx: struct trace_event_raw_sys_exit) */
#define SYSCALL_HOOKS(name, syscall, on_enter, on_exit)				\
SEC("tracepoint/syscalls/sys_enter_" #syscall)					\
int name##_entry(struct trace_event_raw_sys_enter *ctx) { return on_enter; }	\
SEC("tracepoint/syscalls/sys_exit_" #syscall)					\
int name##_exit(struct trace_event_raw_sys_exit *ctx) { return on_exit; }

/* ---- stacks ------------------------------------------------------------------ */
/* what the stack tools count by: process, thread (or process again), both stacks */
struct stack_key {
	__u32 pid;
	__u32 tid;
	__s32 user_stack_id;
	__s32 kernel_stack_id;
	char comm[TASK_COMM_LEN];
};

/* ---- sockets ------------------------------------------------------------------ */
/* a connection's endpoints: address family, local (source) and remote ports in
 * host order, addresses (4 bytes for AF_INET, 16 otherwise) */
struct flow {
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u16 pad;
	__u8 saddr[16];
	__u8 daddr[16];
};

/* a sock/tcp tracepoint record's endpoints into the struct flow at DST */
#define COPY_FLOW(dst, ctx) do {						\
	(dst)->family = (ctx)->family;						\
	(dst)->sport = (ctx)->sport;						\
	(dst)->dport = (ctx)->dport;						\
	if ((ctx)->family == 2) {						\
		bpf_probe_read_kernel((dst)->saddr, 4, (ctx)->saddr);		\
		bpf_probe_read_kernel((dst)->daddr, 4, (ctx)->daddr);		\
	} else {								\
		bpf_probe_read_kernel((dst)->saddr, 16, (ctx)->saddr_v6);	\
		bpf_probe_read_kernel((dst)->daddr, 16, (ctx)->daddr_v6);	\
	}									\
} while (0)

#endif
