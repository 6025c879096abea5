"""Helpers the native executor runs in generated code: map lookups and in-place
updates (arrays, per-CPU and LRU hashes), bpf_get_prandom_u32; and what a
program holding a closed map gets (a fault, not freed memory).

A helper is shown to run natively by replacing its Python implementation with
one that fails: the program still gives the right answer."""

from __future__ import annotations

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
