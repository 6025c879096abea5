"""Helpers the native executor runs in generated code: map lookups and in-place
updates (arrays, per-CPU and LRU hashes), bpf_get_prandom_u32; and what a
program holding a closed map gets (a fault, not freed memory).

A helper is shown to run natively by replacing its Python implementation with
one that fails: the program still gives the right answer."""

from __future__ import annotations

import struct

import pytest

import ebpf
from ebpf.uapi import HelperId as H
from ebpf.vm.helpers.table import HELPERS
from ebpf.vm.native import available

pytestmark = pytest.mark.skipif(not available(), reason="llvmlite is not installed")


@pytest.fixture
def no_python(monkeypatch):
    """Make the Python implementations of ``ids`` fail if they are reached."""
    def forbid(*ids: int) -> None:
        for hid in ids:
            def boom(run, *_a, _hid=hid):
                raise AssertionError(f"helper {_hid} ran in Python")
            monkeypatch.setitem(HELPERS, int(hid), boom)
    return forbid


MAPS = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4);
         __type(key, __u32); __type(value, __u64); } arr SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16);
         __type(key, __u32); __type(value, __u64); } h SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 16);
         __type(key, __u32); __type(value, __u64); } ph SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 4);
         __type(key, __u32); __type(value, __u64); } lru SEC(".maps");

/* ph[1] on this CPU + h[1] */
SEC("xdp") int look(struct xdp_md *ctx)
{
    __u32 k = 1;
    __u64 *a = bpf_map_lookup_elem(&ph, &k), *b = bpf_map_lookup_elem(&h, &k);
    return (a ? *a : 1000) + (b ? *b : 2000);
}

/* arr[2] = 5 and h[1] = 7 in place (h[1] must exist), then their sum */
SEC("xdp") int store(struct xdp_md *ctx)
{
    __u32 k = 2, j = 1;
    __u64 five = 5, seven = 7;
    long e1 = bpf_map_update_elem(&arr, &k, &five, BPF_ANY);
    long e2 = bpf_map_update_elem(&h, &j, &seven, BPF_EXIST);
    __u64 *a = bpf_map_lookup_elem(&arr, &k), *b = bpf_map_lookup_elem(&h, &j);
    if (e1 || e2 || !a || !b) return e1 ? e1 : e2 ? e2 : 99;
    return *a + *b;
}

/* h[3] = 1 (inserting: the Python helper's work) */
SEC("xdp") int insert(struct xdp_md *ctx)
{
    __u32 k = 3;
    __u64 one = 1;
    return bpf_map_update_elem(&h, &k, &one, BPF_NOEXIST);
}

/* touch lru[key from the packet's first byte] */
SEC("xdp") int touch(struct xdp_md *ctx)
{
    void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (data + 1 > end) return 0;
    __u32 k = *(__u8 *)data;
    return bpf_map_lookup_elem(&lru, &k) != 0;
}

SEC("xdp") int rnd(struct xdp_md *ctx)
{
    __u32 a = bpf_get_prandom_u32(), b = bpf_get_prandom_u32();
    return a != b;
}
"""


def test_hash_lookups_update_in_place_and_percpu(bpf_compile, no_python):
    obj_path = bpf_compile(MAPS, "native_helpers")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        progs, h, ph, arr = obj.programs, obj.maps["h"], obj.maps["ph"], obj.maps["arr"]
        # the insertion takes the Python helper, before the others are forbidden
        assert progs["insert"].test_run(bytes(64)).retval == 0
        assert progs["insert"].test_run(bytes(64)).retval == -17 & 0xFFFF_FFFF  # EEXIST
        assert h[3] == 1
        no_python(H.map_lookup_elem, H.map_update_elem)
        assert progs["look"].test_run(bytes(64)).retval == 3000
        h[1] = 20
        ph[1] = [100 + 100 * c for c in range(ph.num_cpus)]
        assert progs["look"].test_run(bytes(64)).retval == 120
        assert progs["look"].test_run(bytes(64), cpu=1).retval == 220
        assert progs["store"].test_run(bytes(64)).retval == 12
        assert arr[2] == 5 and h[1] == 7  # Python reads what generated code wrote
        del h[1]
        assert progs["look"].test_run(bytes(64)).retval == 2100


def test_update_that_inserts_or_misses_takes_python(bpf_compile):
    obj_path = bpf_compile(MAPS, "native_helpers")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        # h[1] does not exist: BPF_EXIST fails as in the interpreter
        assert obj.programs["store"].test_run(bytes(64)).retval == -2 & 0xFFFF_FFFF
    with ebpf.load(obj_path, backend="vm", executor="interpreter") as obj:
        assert obj.programs["store"].test_run(bytes(64)).retval == -2 & 0xFFFF_FFFF


def test_lru_keeps_what_native_code_uses(bpf_compile):
    obj_path = bpf_compile(MAPS, "native_helpers")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        lru, touch = obj.maps["lru"], obj.programs["touch"]
        for k in range(4):
            lru[k] = k
        assert touch.test_run(bytes([0]) + bytes(63)).retval == 1  # key 0 is used
        lru[4] = 4  # full: the least recently used (1, not 0) goes
        assert sorted(lru.keys()) == [0, 2, 3, 4]
        assert touch.test_run(bytes([1]) + bytes(63)).retval == 0


def test_prandom_is_native(bpf_compile, no_python):
    obj_path = bpf_compile(MAPS, "native_helpers")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        no_python(H.get_prandom_u32)
        assert obj.programs["rnd"].test_run(bytes(64), repeat=50).retval == 1


def test_lookup_in_a_closed_map_faults(bpf_compile):
    obj_path = bpf_compile(MAPS, "native_helpers")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        obj.maps["h"][1] = 5
        look = obj.programs["look"]
        assert look.test_run(bytes(64)).retval == 1005
        obj.maps["h"].close()
        with pytest.raises(ebpf.RuntimeFault, match="not a map pointer") as info:
            look.test_run(bytes(64))
        assert info.value.pc is not None
        obj.maps["arr"].close()
        with pytest.raises(ebpf.RuntimeFault, match="not a map pointer"):
            obj.programs["store"].test_run(bytes(64))


def test_native_index_outlives_a_collected_map(bpf_compile):
    import gc

    obj_path = bpf_compile(MAPS, "native_helpers")
    spec = ebpf.ObjectSpec.from_file(obj_path)
    obj = ebpf.load(spec, backend="vm", executor="native")
    look = obj.programs["look"]
    obj.maps["h"][1] = 5
    assert look.test_run(bytes(64)).retval == 1005
    h = obj.maps["h"]
    h.close()
    del h
    gc.collect()
    with pytest.raises(ebpf.RuntimeFault):
        look.test_run(bytes(64))
    obj.close()


TAIL = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4);
         __type(key, __u32); __type(value, __u32); } jmp SEC(".maps");

static long add(__u32 i, void *sum) { *(__u64 *)sum += i; return 0; }

/* a callback through Python's bpf_loop: Run.program must be this program */
SEC("xdp") int looper(struct xdp_md *ctx)
{
    __u64 sum = 0;
    bpf_loop(5, add, &sum, 0);
    return sum;
}

SEC("xdp") int entry(struct xdp_md *ctx)
{
    bpf_tail_call(ctx, &jmp, 0);
    bpf_tail_call(ctx, &jmp, 9);   /* out of range: -ENOENT, execution goes on */
    return 77;
}
"""


def test_tail_calls_run_natively(bpf_compile, no_python):
    obj_path = bpf_compile(TAIL, "native_tail")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        no_python(H.tail_call)
        entry, jmp = obj.programs["entry"], obj.maps["jmp"]
        assert entry.test_run(bytes(64)).retval == 77  # empty slot
        jmp[0] = obj.programs["looper"]
        assert entry.test_run(bytes(64)).retval == 10
        assert entry.test_run(bytes(64), repeat=40).retval == 10  # a count per run
        del jmp[0]
        assert entry.test_run(bytes(64)).retval == 77


def test_tail_call_into_a_program_of_another_executor(bpf_compile):
    obj_path = bpf_compile(TAIL, "native_tail")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj, \
            ebpf.load(obj_path, backend="vm", executor="interpreter") as other:
        obj.maps["jmp"][0] = other.programs["looper"]
        assert obj.programs["entry"].test_run(bytes(64)).retval == 10


def test_tail_call_through_a_closed_program_array_faults(bpf_compile):
    obj_path = bpf_compile(TAIL, "native_tail")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        obj.maps["jmp"][0] = obj.programs["looper"]
        obj.maps["jmp"].close()
        with pytest.raises(ebpf.RuntimeFault, match="not a map pointer"):
            obj.programs["entry"].test_run(bytes(64))


RING = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");

/* three records: two reserved and submitted, one discarded, one output */
SEC("xdp") int produce(struct xdp_md *ctx)
{
    __u64 tag = 0x1122334455667788ULL;
    for (int i = 0; i < 3; i++) {
        __u32 *e = bpf_ringbuf_reserve(&rb, 12, 0);
        if (!e) return 100 + i;
        e[0] = i; e[1] = 0xabcd; e[2] = i * 3;
        if (i == 1) bpf_ringbuf_discard(e, 0); else bpf_ringbuf_submit(e, 0);
    }
    return bpf_ringbuf_output(&rb, &tag, sizeof(tag), 0);
}

/* six reservations held at once (more than generated code tracks), all submitted */
SEC("xdp") int many(struct xdp_md *ctx)
{
    __u8 *e[6];
    for (int i = 0; i < 6; i++) {
        e[i] = bpf_ringbuf_reserve(&rb, 1, 0);
        if (!e[i]) return 1;
        *e[i] = i;
    }
    for (int i = 5; i >= 0; i--) bpf_ringbuf_submit(e[i], 0);
    return 0;
}

/* a record reserved and never submitted (the verifier refuses this; the vm faults) */
SEC("xdp") int leak(struct xdp_md *ctx)
{
    void *e = bpf_ringbuf_reserve(&rb, 8, 0);
    return e != 0;
}

/* reserve until the ring is full: how many fit */
SEC("xdp") int fill(struct xdp_md *ctx)
{
    int n = 0;
    for (int i = 0; i < 600; i++) {
        __u64 *e = bpf_ringbuf_reserve(&rb, 8, 0);
        if (!e) break;
        *e = i;
        bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
        n++;
    }
    __u64 x = 1;
    return n * 10 + (bpf_ringbuf_output(&rb, &x, 8, 0) == -11);
}
"""


def load_ring(bpf_compile, executor: str = "native"):
    # verify=False: "many" and "leak" break the verifier's rules on purpose
    obj_path = bpf_compile(RING, "native_ring")
    return ebpf.load(obj_path, backend="vm", executor=executor, verify=False)


def ring_records(executor: str, bpf_compile, prog: str, runs: int = 1) -> tuple[list, list]:
    with load_ring(bpf_compile, executor) as obj:
        rb = ebpf.RingBuffer(obj.maps["rb"])
        try:
            rets = [obj.programs[prog].test_run(bytes(64)).retval for _ in range(runs)]
            return rets, [bytes(r) for r in rb.poll(timeout=0)]
        finally:
            rb.close()


def test_ringbuf_records_are_written_in_the_ring_natively(bpf_compile, no_python):
    no_python(H.ringbuf_reserve, H.ringbuf_submit, H.ringbuf_discard, H.ringbuf_output)
    rets, recs = ring_records("native", bpf_compile, "produce", runs=2)
    assert rets == [0, 0]
    one = [struct.pack("<III", 0, 0xabcd, 0), struct.pack("<III", 2, 0xabcd, 6),
           struct.pack("<Q", 0x1122334455667788)]
    assert recs == one * 2


def test_ringbuf_native_and_python_records_mix(bpf_compile):
    rets, recs = ring_records("native", bpf_compile, "many")
    assert (rets, recs) == ring_records("interpreter", bpf_compile, "many")
    assert recs == [bytes([i]) for i in range(6)]


def test_ringbuf_full_as_in_the_interpreter(bpf_compile):
    got = ring_records("native", bpf_compile, "fill")
    assert got[0] == ring_records("interpreter", bpf_compile, "fill")[0]
    assert got[0] == [255 * 10 + 1]  # 4096 bytes hold 255 records of 16 (one byte kept free)
    assert len(got[1]) == 255


def test_unreleased_native_record_faults(bpf_compile):
    with load_ring(bpf_compile) as obj:
        with pytest.raises(ebpf.RuntimeFault, match="unreleased ring buffer records of rb"):
            obj.programs["leak"].test_run(bytes(64))
        # the record was discarded: the ring has room and no record to read
        assert obj.programs["produce"].test_run(bytes(64)).retval == 0


def test_native_submit_wakes_a_waiting_consumer(bpf_compile):
    import threading

    with load_ring(bpf_compile) as obj:
        rb = ebpf.RingBuffer(obj.maps["rb"])
        got: list = []
        t = threading.Thread(target=lambda: got.extend(rb.poll(timeout=30)))
        t.start()
        obj.programs["produce"].test_run(bytes(64))
        t.join()
        rb.close()
        assert len(got) == 3


# ---- faults found natively, with the instruction slot ------------------------------
FAULTS = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 1);
         __type(key, __u32); __type(value, __u32); } self_ SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } rb SEC(".maps");
volatile __u64 sink;

/* 40,000 instructions and a tail call to itself: the budget runs out across tail calls */
SEC("xdp") int spin_then_tail(struct xdp_md *ctx)
{
    for (int i = 0; i < 10000; i++) sink += i;
    bpf_tail_call(ctx, &self_, 0);
    return 0;
}

static long forever(__u32 i, void *ctx)
{
    for (;;) sink++;
    return 0;
}

/* a bpf_loop callback that never returns */
SEC("xdp") int stuck_callback(struct xdp_md *ctx)
{
    bpf_loop(1, forever, 0, 0);
    return 0;
}

/* submit of a pointer into the ring that is not a reserved record */
SEC("xdp") int bad_submit(struct xdp_md *ctx)
{
    char *e = bpf_ringbuf_reserve(&rb, 16, 0);
    if (!e) return 1;
    bpf_ringbuf_submit(e + 8, 0);
    return 0;
}
"""


@pytest.fixture
def faults(bpf_compile):
    obj_path = bpf_compile(FAULTS, "native_faults")
    with ebpf.load(obj_path, backend="vm", executor="native", verify=False) as obj:
        yield obj


def test_budget_runs_out_across_native_tail_calls(faults):
    faults.maps["self_"][0] = faults.programs["spin_then_tail"]
    with pytest.raises(ebpf.RuntimeFault, match="budget") as info:
        faults.programs["spin_then_tail"].test_run(bytes(64))
    assert info.value.pc is not None


def test_callback_that_never_returns_is_stopped(faults):
    with pytest.raises(ebpf.RuntimeFault, match="budget"):
        faults.programs["stuck_callback"].test_run(bytes(64))


def test_submit_of_something_not_reserved_faults(faults):
    with pytest.raises(ebpf.RuntimeFault, match="not a reserved ring buffer record") as info:
        faults.programs["bad_submit"].test_run(bytes(64))
    assert info.value.pc is not None


def test_callx_to_an_unknown_helper_faults():
    from ebpf.isa import assemble
    from ebpf.vm.programs import load_program

    spec = ebpf.ProgramSpec(name="t", type=ebpf.ProgramType.RAW_TRACEPOINT,
                            instructions=assemble("r1 = 77\ncallx r1\nexit"))
    with pytest.raises(ebpf.RuntimeFault, match="unknown helper #77") as info:
        load_program(spec, executor="native", verify=False).run()
    assert info.value.pc == 1


# ---- hash inserts and deletes in generated code -------------------------------------
CHURN = r"""
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 48);
         __type(key, __u32); __type(value, __u64); } h SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 8);
         __type(key, __u32); __type(value, __u64); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 16);
         __type(key, __u32); __type(value, __u64); } pch SEC(".maps");

/* packet: base, inserts, deletes, flags, which map: error codes summed */
SEC("xdp") int churn(struct xdp_md *ctx)
{
    __u8 *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
    if (d + 5 > end) return 0;
    __u32 base = d[0], n = d[1], del = d[2], flags = d[3];
    void *m = d[4] == 0 ? (void *)&h : d[4] == 1 ? (void *)&lru : (void *)&pch;
    long sum = 0;
    for (__u32 i = 0; i < 64 && i < n; i++) {
        __u32 k = base + i;
        __u64 v = k * 10 + flags;
        long e = bpf_map_update_elem(m, &k, &v, flags);
        sum += e < 0 ? -e : 0;
    }
    for (__u32 i = 0; i < 64 && i < del; i++) {
        __u32 k = base + i;
        long e = bpf_map_delete_elem(m, &k);
        sum += (e < 0 ? -e : 0) * 1000;
    }
    return sum;
}
"""

CHURN_STEPS = [
    bytes([0, 10, 0, 0, 0]),      # 10 inserts
    bytes([5, 10, 0, 1, 0]),      # NOEXIST: 5 clash (EEXIST), 5 new
    bytes([0, 20, 0, 2, 0]),      # EXIST: 15 there, 5 missing (ENOENT)
    bytes([0, 0, 7, 0, 0]),       # 7 deletes
    bytes([3, 0, 6, 0, 0]),       # 4 deletes, 2 missing
    bytes([0, 60, 0, 0, 0]),      # past max_entries: E2BIG for some
    bytes([0, 0, 64, 0, 0]),      # delete everything (and more)
    bytes([100, 30, 10, 0, 0]),   # insert after mass deletion (slots reused)
    bytes([0, 12, 3, 0, 1]),      # LRU: evictions (Python's work) and deletes
    bytes([4, 9, 0, 0, 2]),       # per-CPU hash
    bytes([0, 5, 5, 0, 2]),
]


def churn(executor: str, bpf_compile, forbid=None, cpu: int = 0):
    obj_path = bpf_compile(CHURN, "native_churn")
    with ebpf.load(obj_path, backend="vm", executor=executor) as obj:
        if forbid:
            forbid()
        prog = obj.programs["churn"]
        rets, states = [], []
        for step in CHURN_STEPS:
            rets.append(prog.test_run(step + bytes(59), cpu=cpu).retval)
            states.append({name: sorted(obj.maps[name].items())
                           for name in ("h", "lru", "pch")})
        return rets, states


def test_hash_inserts_and_deletes_match_the_interpreter(bpf_compile):
    native = churn("native", bpf_compile, cpu=1)
    assert native == churn("interpreter", bpf_compile, cpu=1)
    assert native[0][:3] == [0, 5 * 17, 5 * 2]


def test_hash_inserts_and_deletes_run_natively(bpf_compile, no_python):
    obj_path = bpf_compile(CHURN, "native_churn")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        prog, h = obj.programs["churn"], obj.maps["h"]
        h[200] = 7  # from Python: native code sees it, and Python sees its changes
        no_python(H.map_update_elem, H.map_delete_elem)
        assert prog.test_run(bytes([0, 20, 0, 0, 0]) + bytes(59)).retval == 0
        assert len(h) == 21 and h[19] == 190 and h[200] == 7
        assert prog.test_run(bytes([0, 0, 15, 0, 0]) + bytes(59)).retval == 0
        assert sorted(h.keys()) == [15, 16, 17, 18, 19, 200]
        del h[16]
        h[15] = 1
        assert prog.test_run(bytes([15, 0, 2, 0, 0]) + bytes(59)).retval == 2000  # 16 gone
        assert sorted(h.keys()) == [17, 18, 19, 200]


def test_concurrent_native_writers_and_python_readers(bpf_compile):
    import threading

    obj_path = bpf_compile(CHURN, "native_churn")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        prog, h = obj.programs["churn"], obj.maps["h"]
        errors: list = []

        def writer(base: int) -> None:
            try:
                for _ in range(30):
                    prog.test_run(bytes([base, 8, 0, 0, 0]) + bytes(59))
                    prog.test_run(bytes([base, 0, 8, 0, 0]) + bytes(59))
                prog.test_run(bytes([base, 8, 0, 0, 0]) + bytes(59))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=writer, args=(b,)) for b in (0, 10, 20, 30)]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            assert len(h) <= 48
            for _k, v in h.items():
                assert v % 10 == 0
        for t in threads:
            t.join()
        assert not errors
        assert sorted(h.keys()) == [b + i for b in (0, 10, 20, 30) for i in range(8)]
        assert all(h[k] == k * 10 for k in h.keys())


def test_native_inserts_and_deletes_keep_element_liveness(bpf_compile):
    from ebpf.vm.maps.hashes import SLAB_ENTRIES
    from ebpf.vm.memory import LIVE

    obj_path = bpf_compile(CHURN, "native_churn")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        prog, h = obj.programs["churn"], obj.maps["h"]
        prog.test_run(bytes([0, 20, 0, 0, 0]) + bytes(59))
        prog.test_run(bytes([0, 0, 12, 0, 0]) + bytes(59))
        # after the run: exactly the slots of the 8 keys left are elements
        live = {s for s in range(h.next_slot)
                if h.slab_live[s // SLAB_ENTRIES][s % SLAB_ENTRIES] == LIVE}
        assert live == set(h.entries.values())
        assert sorted(h.keys()) == list(range(12, 20))


def test_insert_then_delete_in_a_loop_stays_native(bpf_compile, no_python):
    # each run inserts key 50 and deletes it: the pair cancels in the journal and
    # the slot goes back to the spares, so a long native loop never needs Python
    obj_path = bpf_compile(CHURN, "native_churn")
    with ebpf.load(obj_path, backend="vm", executor="native") as obj:
        prog, h = obj.programs["churn"], obj.maps["h"]
        h[7] = 70
        no_python(H.map_update_elem, H.map_delete_elem)
        assert prog.test_run(bytes([50, 1, 1, 0, 0]) + bytes(59), repeat=500).retval == 0
        assert dict(h.items()) == {7: 70}
        assert prog.test_run(bytes([50, 1, 0, 0, 0]) + bytes(59)).retval == 0
        assert dict(h.items()) == {7: 70, 50: 500}
