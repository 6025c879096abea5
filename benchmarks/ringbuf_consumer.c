/* C consumer for the ring buffer benchmark (built by ringbuf_throughput.py with
 * gcc). It gets the ring buffer map fd and the producer program fd as inherited
 * descriptors, then does exactly what the Python side does: fill the ring with
 * BPF_PROG_TEST_RUN(repeat=batch), drain it through the mmap'ed ring, repeat.
 *
 *   ringbuf_consumer MAP_FD PROG_FD RING_SIZE BATCH ROUNDS
 * prints one JSON line: records, seconds (draining only), gaps, first/last seq.
 * Every record goes through a callback called through a function pointer, as
 * libbpf's ring_buffer__poll hands records to a sample callback, and the callback
 * does real work: it reads the record's sequence number and counts gaps.
 *   ringbuf_consumer produce PROG_FD BATCH ROUNDS
 * only produces (the streaming run, where Python consumes concurrently).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>

#define BUSY_BIT (1U << 31)
#define DISCARD_BIT (1U << 30)

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int test_run(int prog_fd, unsigned repeat)
{
    unsigned char pkt[64] = {0};
    union bpf_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.test.prog_fd = prog_fd;
    attr.test.data_in = (uint64_t)(unsigned long)pkt;
    attr.test.data_size_in = sizeof(pkt);
    attr.test.repeat = repeat;
    return syscall(__NR_bpf, BPF_PROG_TEST_RUN, &attr, sizeof(attr));
}

/* "produce PROG_FD BATCH ROUNDS": only drive the producer (for streaming runs). */
static int produce_only(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s produce PROG_FD BATCH ROUNDS\n", argv[0]);
        return 2;
    }
    int prog_fd = atoi(argv[2]);
    unsigned batch = strtoul(argv[3], NULL, 0), rounds = strtoul(argv[4], NULL, 0);
    for (unsigned r = 0; r < rounds; r++)
        if (test_run(prog_fd, batch) < 0) { perror("BPF_PROG_TEST_RUN"); return 1; }
    return 0;
}

struct seq_state { uint64_t got, gaps, first, expect, last; int have_first; };

/* the per-record work, behind a pointer the compiler cannot see through */
__attribute__((noinline)) static int handle_record(void *ctx, void *data, size_t size)
{
    struct seq_state *st = ctx;
    uint64_t seq;
    if (size < sizeof(seq))
        return 0;
    memcpy(&seq, data, sizeof(seq));
    if (!st->have_first) { st->first = st->expect = seq; st->have_first = 1; }
    if (seq != st->expect) st->gaps++;
    st->expect = seq + 1;
    st->last = seq;
    st->got++;
    return 0;
}

typedef int (*sample_fn)(void *ctx, void *data, size_t size);
static sample_fn volatile sample_cb = handle_record;

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "produce") == 0)
        return produce_only(argc, argv);
    if (argc != 6) {
        fprintf(stderr, "usage: %s MAP_FD PROG_FD RING_SIZE BATCH ROUNDS\n", argv[0]);
        return 2;
    }
    int map_fd = atoi(argv[1]), prog_fd = atoi(argv[2]);
    unsigned long size = strtoul(argv[3], NULL, 0);
    unsigned batch = strtoul(argv[4], NULL, 0), rounds = strtoul(argv[5], NULL, 0);
    long page = sysconf(_SC_PAGESIZE);

    volatile uint64_t *cons = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
    if (cons == MAP_FAILED) { perror("mmap consumer page"); return 1; }
    uint8_t *prod_page = mmap(NULL, page + 2 * size, PROT_READ, MAP_SHARED, map_fd, page);
    if (prod_page == MAP_FAILED) { perror("mmap data pages"); return 1; }
    uint64_t *prod = (uint64_t *)prod_page;
    uint8_t *data = prod_page + page;
    uint64_t mask = size - 1;

    struct seq_state st = {0};
    uint64_t records = 0;
    double spent = 0;
    for (unsigned r = 0; r < rounds; r++) {
        if (test_run(prog_fd, batch) < 0) { perror("BPF_PROG_TEST_RUN"); return 1; }
        double t0 = now();
        uint64_t got0 = st.got;
        uint64_t c = __atomic_load_n(cons, __ATOMIC_ACQUIRE);
        sample_fn cb = sample_cb;
        while (st.got - got0 < batch) {
            uint64_t p = __atomic_load_n(prod, __ATOMIC_ACQUIRE);
            if (c == p)
                break; /* nothing more: the producer is done for this round */
            while (c < p) {
                uint32_t *hdr = (uint32_t *)(data + (c & mask));
                uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
                if (len & BUSY_BIT)
                    break;
                uint32_t real = len & ~(BUSY_BIT | DISCARD_BIT);
                if (!(len & DISCARD_BIT))  /* the data area is mapped twice: contiguous */
                    cb(&st, data + ((c + 8) & mask), real);
                c += (real + 8 + 7) & ~7ULL;
            }
            __atomic_store_n(cons, c, __ATOMIC_RELEASE);
        }
        spent += now() - t0;
        records += st.got - got0;
    }
    printf("{\"records\": %llu, \"seconds\": %.9f, \"gaps\": %llu, \"first\": %llu, "
           "\"last\": %llu}\n", (unsigned long long)records, spent,
           (unsigned long long)st.gaps, (unsigned long long)st.first, (unsigned long long)st.last);
    return 0;
}
