// SPDX-License-Identifier: GPL-2.0
/* Test config: clock_nanosleep() latency per command name, as a power-of-two
 * histogram of microseconds. Bucket i counts sleeps of at most 2^i us; the key
 * just past the last bucket accumulates the total microseconds (the sum). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define MAX_BUCKET 26

struct sleep_key {
	char comm[16];
	__u64 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} sleep_start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct sleep_key);
	__type(value, __u64);
} sleep_latency_seconds SEC(".maps");

static __always_inline void add(struct sleep_key *key, __u64 v)
{
	__u64 *n = bpf_map_lookup_elem(&sleep_latency_seconds, key);

	if (n)
		__sync_fetch_and_add(n, v);
	else
		bpf_map_update_elem(&sleep_latency_seconds, key, &v, BPF_NOEXIST);
}

SEC("tracepoint/syscalls/sys_enter_clock_nanosleep")
int sleep_enter(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 ts = bpf_ktime_get_ns();

	bpf_map_update_elem(&sleep_start, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_clock_nanosleep")
int sleep_exit(void *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct sleep_key key = {};
	__u64 *start, us, b = 0;

	start = bpf_map_lookup_elem(&sleep_start, &tid);
	if (!start)
		return 0;
	us = (bpf_ktime_get_ns() - *start) / 1000;
	bpf_map_delete_elem(&sleep_start, &tid);
	/* smallest b with us <= 2^b */
	while (b < MAX_BUCKET && (1ULL << b) < us)
		b++;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.bucket = b;
	add(&key, 1);
	key.bucket = MAX_BUCKET + 1;
	add(&key, us);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
