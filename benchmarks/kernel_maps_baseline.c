/* The C baseline of benchmarks/kernel_maps.py: the same bpf(2) map commands on the
 * same hash map (4-byte keys, 8-byte values), one call per element and in batches.
 * Prints ops/s as JSON. */
#define _GNU_SOURCE
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#define REPS 5
static long sys_bpf(int cmd, union bpf_attr *a) { return syscall(__NR_bpf, cmd, a, sizeof(*a)); }
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 50000;
    if (n <= 0 || n > (1 << 24)) { fprintf(stderr, "entries: 1..16M\n"); return 2; }
    union bpf_attr a; memset(&a, 0, sizeof a);
    a.map_type = BPF_MAP_TYPE_HASH; a.key_size = 4; a.value_size = 8; a.max_entries = n;
    int fd = sys_bpf(BPF_MAP_CREATE, &a); if (fd < 0) { perror("map create"); return 1; }
    uint32_t k; uint64_t v; double t0;
    t0 = now();
    for (int i = 0; i < n; i++) { k = i; v = (uint64_t)i * 7; memset(&a, 0, sizeof a); a.map_fd = fd; a.key = (uintptr_t)&k; a.value = (uintptr_t)&v; if (sys_bpf(BPF_MAP_UPDATE_ELEM, &a)) { perror("update"); return 1; } }
    double upd = n / (now() - t0);
    t0 = now();
    for (int i = 0; i < n; i++) { k = i; memset(&a, 0, sizeof a); a.map_fd = fd; a.key = (uintptr_t)&k; a.value = (uintptr_t)&v; if (sys_bpf(BPF_MAP_LOOKUP_ELEM, &a)) { perror("lookup"); return 1; } }
    double look = n / (now() - t0);
    t0 = now();
    for (int i = 0; i < n; i++) { k = i; memset(&a, 0, sizeof a); a.map_fd = fd; a.key = (uintptr_t)&k; if (sys_bpf(BPF_MAP_DELETE_ELEM, &a)) { perror("delete"); return 1; } }
    double del = n / (now() - t0);
    uint32_t *keys = malloc(4 * n); uint64_t *vals = malloc(8 * n);
    /* REPS cycles of batch update, lookup, delete (each leaves the map as the cycle
     * found it); each command's best cycle, as the Python side does */
    uint32_t out_batch; double bupd = 0, blook = 0, bdel = 0, rate;
    for (int rep = 0; rep < REPS; rep++) {
        for (int i = 0; i < n; i++) { keys[i] = i; vals[i] = (uint64_t)i * 7; }
        t0 = now();
        memset(&a, 0, sizeof a); a.batch.map_fd = fd; a.batch.keys = (uintptr_t)keys; a.batch.values = (uintptr_t)vals; a.batch.count = n;
        if (sys_bpf(BPF_MAP_UPDATE_BATCH, &a)) { perror("update batch"); return 1; }
        rate = n / (now() - t0); if (rate > bupd) bupd = rate;
        t0 = now();
        memset(&a, 0, sizeof a); a.batch.map_fd = fd; a.batch.keys = (uintptr_t)keys; a.batch.values = (uintptr_t)vals; a.batch.count = n; a.batch.out_batch = (uintptr_t)&out_batch;
        long r = sys_bpf(BPF_MAP_LOOKUP_BATCH, &a);
        rate = n / (now() - t0); if (rate > blook) blook = rate;
        if (r && a.batch.count != (unsigned)n) { perror("lookup batch"); return 1; }
        t0 = now();
        memset(&a, 0, sizeof a); a.batch.map_fd = fd; a.batch.keys = (uintptr_t)keys; a.batch.count = n;
        if (sys_bpf(BPF_MAP_DELETE_BATCH, &a)) { perror("delete batch"); return 1; }
        rate = n / (now() - t0); if (rate > bdel) bdel = rate;
    }
    printf("{\"single_update_ops\": %.0f, \"single_lookup_ops\": %.0f, \"single_delete_ops\": %.0f, "
           "\"batch_update_ops\": %.0f, \"batch_lookup_ops\": %.0f, \"batch_delete_ops\": %.0f}\n",
           upd, look, del, bupd, blook, bdel);
    return 0;
}
