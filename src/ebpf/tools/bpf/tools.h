/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the tools' BPF programs: log2 slots and small map helpers. */
#ifndef EBPF_TOOLS_H
#define EBPF_TOOLS_H

#define TASK_COMM_LEN 16
#define MAX_SLOTS 27

struct hist {
	__u32 slots[MAX_SLOTS];
};

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

/* add 1 to slot log2(v) of the histogram at key */
static __always_inline void hist_add(void *map, const void *key, __u64 v)
{
	static const struct hist zero;
	struct hist *h = lookup_or_init(map, key, &zero);
	__u32 slot = log2_u64(v);

	if (!h)
		return;
	if (slot >= MAX_SLOTS)
		slot = MAX_SLOTS - 1;
	__sync_fetch_and_add(&h->slots[slot], 1);
}

static __always_inline void count_add(void *map, const void *key, __u64 n)
{
	static const __u64 zero;
	__u64 *c = lookup_or_init(map, key, &zero);

	if (c)
		__sync_fetch_and_add(c, n);
}

#endif
