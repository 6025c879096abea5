"""Kernel maps: every common type, dict semantics, batch ops, mmap, pinning."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ebpf
from ebpf.errors import KeyExistsError, MapError, MapFullError, NotSupportedError
from ebpf.kernel import probes
from ebpf.kernel.maps import KernelMap, create_map, open_map_by_id, open_pinned_map
from ebpf.maps import BPF_EXIST, BPF_NOEXIST
from ebpf.spec import BPF_F_MMAPABLE, MapSpec
from ebpf.uapi import MapType

pytestmark = pytest.mark.kernel


def spec(t: MapType, k: int = 4, v: int = 8, n: int = 16, **kw) -> MapSpec:
    return MapSpec(name=f"t_{t.name.lower()}", type=t, key_size=k, value_size=v, max_entries=n, **kw)


@pytest.mark.parametrize("t", [MapType.HASH, MapType.LRU_HASH])
def test_hash_dict_semantics(t, no_leaks):
    with ebpf.Map.create(spec(t)) as m:
        assert isinstance(m, KernelMap) and m.backend == "kernel"
        assert len(m) == 0 and 3 not in m
        m[3] = 30
        m[4] = 40
        assert m[3] == 30 and 3 in m and len(m) == 2
        assert sorted(m.items()) == [(3, 30), (4, 40)]
        assert m.get(99, "none") == "none"
        with pytest.raises(KeyError):
            m[99]
        with pytest.raises(KeyExistsError) as ei:
            m.put(3, 1, BPF_NOEXIST)
        assert ei.value.errno == errno.EEXIST
        with pytest.raises(MapError):
            m.put(77, 1, BPF_EXIST)
        del m[3]
        with pytest.raises(KeyError):
            del m[3]
        m[5] = b"\x01" + bytes(7)
        assert m[5] == 1
        with pytest.raises(MapError, match="needs 8"):
            m[6] = b"\x01"
        m.clear()
        assert len(m) == 0


def test_hash_full_raises_map_full(no_leaks):
    with ebpf.Map.create(spec(MapType.HASH, n=2)) as m:
        m[1] = 1
        m[2] = 2
        with pytest.raises(MapFullError) as ei:
            m[3] = 3
        assert ei.value.errno == errno.E2BIG
        assert isinstance(ei.value, MapError)


def test_array(no_leaks):
    with ebpf.Map.create(spec(MapType.ARRAY, n=4)) as m:
        assert len(m) == 4 and m[0] == 0
        m[2] = 7
        assert [m[i] for i in range(4)] == [0, 0, 7, 0]
        with pytest.raises(KeyError):
            m[4]
        with pytest.raises(MapError, match="cannot be deleted"):
            del m[1]
        with pytest.raises(MapError):
            m[9] = 1


@pytest.mark.parametrize("t", [MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH])
def test_per_cpu(t, no_leaks):
    n = probes.possible_cpus()
    with ebpf.Map.create(spec(t, v=4)) as m:
        assert m.per_cpu and m.num_cpus == n
        m[1] = list(range(10, 10 + n))
        assert m[1] == list(range(10, 10 + n))
        m[1] = 5  # one value for every CPU
        assert m[1] == [5] * n
        with pytest.raises(MapError):
            m[1] = [1] * (n + 1)


def test_lpm_trie(no_leaks):
    with ebpf.Map.create(spec(MapType.LPM_TRIE, k=8, v=4)) as m:  # NO_PREALLOC added for us
        key = (24).to_bytes(4, "little") + bytes([10, 1, 2, 0])
        m[key] = 1
        probe = (32).to_bytes(4, "little") + bytes([10, 1, 2, 77])
        assert m[probe] == 1
        assert (32).to_bytes(4, "little") + bytes([10, 1, 3, 1]) not in m


def test_queue_stack_bloom(no_leaks):
    with ebpf.Map.create(spec(MapType.QUEUE, k=0, v=4, n=4)) as q, \
            ebpf.Map.create(spec(MapType.STACK, k=0, v=4, n=4)) as s:
        for i in (1, 2, 3):
            q.push(i)
            s.push(i)
        assert q.peek() == 1 and q.pop() == 1 and q.pop() == 2
        assert s.pop() == 3 and s.pop() == 2
        assert q.pop() == 3 and q.pop(None) is None
        with pytest.raises(KeyError):
            q.pop()
    with ebpf.Map.create(MapSpec(name="bloom", type=MapType.BLOOM_FILTER, value_size=4,
                                 max_entries=64, map_extra=3)) as b:
        b.push(1234)
        assert 1234 in b


def test_prog_array_and_ringbuf_and_perf_array(no_leaks):
    with ebpf.Map.create(spec(MapType.PROG_ARRAY, v=4, n=4)) as pa:
        assert pa.value_size == 4 and len(pa) == 4 and 0 not in pa
    with ebpf.Map.create(MapSpec(name="rb", type=MapType.RINGBUF, max_entries=5000)) as rb:
        assert rb.max_entries == 8192  # rounded to a power-of-two number of pages
        assert rb.info().max_entries == 8192
    with ebpf.Map.create(MapSpec(name="events", type=MapType.PERF_EVENT_ARRAY)) as pe:
        assert pe.max_entries == probes.possible_cpus()
        assert (pe.key_size, pe.value_size) == (4, 4)


def test_map_in_map(no_leaks):
    inner = spec(MapType.ARRAY, v=4, n=2)
    with ebpf.Map.create(MapSpec(name="outer", type=MapType.HASH_OF_MAPS, key_size=4,
                                 max_entries=4, inner=inner)) as outer, \
            ebpf.Map.create(inner) as a:
        outer[7] = a
        assert outer[7] == a.id  # the kernel answers with the inner map's id
        del outer[7]
        assert 7 not in outer
    with pytest.raises(MapError, match="inner"):
        ebpf.Map.create(MapSpec(name="outer", type=MapType.ARRAY_OF_MAPS, key_size=4,
                                max_entries=4))


def test_storage_map_needs_btf(no_leaks):
    with pytest.raises(ebpf.Error):
        ebpf.Map.create(MapSpec(name="st", type=MapType.TASK_STORAGE, key_size=4, value_size=8))


def test_names_sanitized_and_truncated(no_leaks):
    with ebpf.Map.create(MapSpec(name="a very-long name!!", type=MapType.ARRAY, key_size=4,
                                 value_size=4, max_entries=1)) as m:
        assert m.info().name == "a_very_long_nam"


def test_batch_ops(no_leaks):
    with ebpf.Map.create(spec(MapType.HASH, n=5000)) as m:
        items = {i: i * 3 for i in range(3000)}
        assert m.update_batch(items) == 3000
        got = dict(m.lookup_batch())
        assert got == items
        assert m.delete_batch(range(1000)) == 1000
        assert len(m) == 2000
        with pytest.raises(KeyError):
            m.delete_batch([5])
        taken = dict(m.lookup_batch(delete=True))
        assert len(taken) == 2000 and len(m) == 0
    with ebpf.Map.create(spec(MapType.PERCPU_ARRAY, v=4, n=8)) as pc:
        n = probes.possible_cpus()
        pc.update_batch([(1, [1] * n), (2, [2] * n)])
        assert dict(pc.lookup_batch())[2] == [2] * n


@pytest.mark.parametrize("chunk", [0, 1, 7, 5000])
@pytest.mark.parametrize("t", [MapType.HASH, MapType.PERCPU_HASH, MapType.ARRAY])
def test_batch_lookup_packed_any_chunk(t, chunk, no_leaks):
    """Whatever the entries per system call (1 makes hash buckets overflow: ENOSPC,
    more room; the buffers grow keeping what was read), one batch of every entry."""
    with ebpf.Map.create(spec(t, n=1000)) as m:
        cpus = m.num_cpus if m.per_cpu else 1
        want = {i: i * 3 for i in range(0, 1000, 2 if t != MapType.ARRAY else 1)}
        m.update_batch({k: [v] * cpus if m.per_cpu else v for k, v in want.items()})
        b = m.lookup_batch_packed(chunk=chunk)
        assert len(b) == len(want) and len(b.key_data) == 4 * len(want)
        assert len(b.value_data) == len(want) * 8 * cpus
        got = dict(b)
        assert got == {k: [v] * cpus if m.per_cpu else v for k, v in want.items()}
        if t != MapType.ARRAY:
            taken = m.lookup_batch_packed(delete=True, chunk=chunk)
            assert sorted(taken.raw_items()) == sorted(b.raw_items()) and len(m) == 0


def test_batch_lookup_packed_is_the_kernels_buffer(no_leaks):
    """The kernel writes into the batch's own buffers: no copy afterwards."""
    import ctypes

    with ebpf.Map.create(spec(MapType.HASH, n=4096)) as m:
        m.update_batch({1: 2, 3: 4})
        b = m.lookup_batch_packed()
        assert isinstance(b.key_data.obj, ctypes.Array) and isinstance(b.value_data.obj, ctypes.Array)
        assert b.key_data.readonly and sorted(b) == [(1, 2), (3, 4)]
        # room was made for the whole map; a batch keeps only what was read
        assert ctypes.sizeof(b.key_data.obj) == 8 and ctypes.sizeof(b.value_data.obj) == 16


def test_batch_lookup_packed_numpy_is_optional(no_leaks, monkeypatch):
    with ebpf.Map.create(spec(MapType.HASH, n=64)) as m:
        m[1] = 2
        b = m.lookup_batch_packed()
        monkeypatch.setitem(sys.modules, "numpy", None)
        with pytest.raises(MapError, match="needs NumPy"):
            b.numpy()
        assert b.tolist() == [(1, 2)]


def test_batch_keys_and_values_the_packed_path_leaves_to_the_codec(no_leaks):
    """Plain ints are packed in C; everything else goes through the map's codec with
    the same results and errors as single operations."""
    with ebpf.Map.create(spec(MapType.HASH, n=64)) as m:
        assert m.update_batch([(-1, 7), (True, False), (2, 2**32 - 1)]) == 3
        assert m[-1] == 7 and m[1] == 0 and m[2] == 2**32 - 1
        m[10] = -5
        assert m.update_batch({3: -5}) == 1 and m[3] == m[10]  # as a single update
        del m[10]
        with pytest.raises(ebpf.Error):
            m.update_batch([(2**40, 1)])  # does not fit 4 bytes: named by the codec
        with pytest.raises(ebpf.Error):
            m.update_batch([(4, 2**70)])  # nor 8 bytes
        with pytest.raises(ebpf.Error):
            m.update_batch([(4.5, 1)])
        assert m.delete_batch([-1, True, 2]) == 3 and sorted(m.keys()) == [3]


def test_batch_falls_back_where_kernel_cannot(no_leaks):
    with ebpf.Map.create(spec(MapType.LPM_TRIE, k=8, v=4)) as m:  # no batch ops for tries
        k = (32).to_bytes(4, "little") + bytes([1, 2, 3, 4])
        assert m.update_batch([(k, 9)]) == 1
        assert m.lookup_batch() == [(int.from_bytes(k, "little"), 9)]
        b = m.lookup_batch_packed()
        assert b.key_data.tobytes() == k and b.value_data.tobytes() == (9).to_bytes(4, "little")


def test_mmap_array(no_leaks):
    with ebpf.Map.create(spec(MapType.ARRAY, v=8, n=4, flags=BPF_F_MMAPABLE)) as m:
        mem = m.memory
        m[1] = 0x1122
        assert bytes(mem[8:16]) == (0x1122).to_bytes(8, "little")
        mem[16:24] = (99).to_bytes(8, "little")
        assert m[2] == 99
        mem.release()
    with ebpf.Map.create(spec(MapType.ARRAY)) as plain:
        with pytest.raises(NotSupportedError):
            _ = plain.memory


def test_freeze(no_leaks):
    with ebpf.Map.create(spec(MapType.ARRAY, n=1)) as m:
        m[0] = 5
        m.freeze()
        assert m.info().frozen
        assert m[0] == 5
        with pytest.raises(MapError) as ei:
            m[0] = 6
        assert ei.value.errno == errno.EPERM


def test_info_and_open_by_id(no_leaks):
    with ebpf.Map.create(spec(MapType.HASH, v=8, n=33)) as m:
        info = m.info()
        assert (info.type, info.key_size, info.value_size, info.max_entries) == (1, 4, 8, 33)
        assert info.type_name == "hash" and info.id == m.id
        m[1] = 11
        with open_map_by_id(m.id) as again:
            assert again.id == m.id and again[1] == 11 and again.max_entries == 33
    with pytest.raises(MapError, match="no map with id"):
        open_map_by_id(0x7FFFFFF0)


def test_closed_map_raises(no_leaks):
    m = ebpf.Map.create(spec(MapType.HASH))
    m.close()
    m.close()
    with pytest.raises(MapError, match="closed"):
        m[1] = 1


def test_pinned_map_outlives_process(pin_dir):
    path = os.path.join(pin_dir, "counts")
    code = f"""
import ebpf
m = ebpf.Map.create(ebpf.MapSpec(name="pinned", type=ebpf.MapType.HASH, key_size=4,
                                  value_size=8, max_entries=8))
m[1] = 111; m[2] = 222
m.pin({path!r})
print(m.id)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    map_id = int(r.stdout.strip())
    with ebpf.Map.from_pin(path) as m:  # the process is gone; the pin keeps the map
        assert m.id == map_id and m.name == "pinned"
        assert dict(m.items()) == {1: 111, 2: 222}
        m[3] = 333
    with open_pinned_map(path) as m:
        assert m[3] == 333
    code2 = f"""
import ebpf, json
with ebpf.Map.from_pin({path!r}) as m:
    print(json.dumps(sorted(m.items())))
"""
    r = subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [[1, 111], [2, 222], [3, 333]]
    with pytest.raises(MapError, match="no pinned object"):
        open_pinned_map(os.path.join(pin_dir, "missing"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["set", "del"]), st.integers(0, 20),
                          st.integers(0, 2**64 - 1)), max_size=40))
def test_hash_matches_dict_model(ops):
    model: dict[int, int] = {}
    with create_map(spec(MapType.HASH, n=64)) as m:
        for op, k, v in ops:
            if op == "set":
                m[k] = v
                model[k] = v
            else:
                if k in model:
                    del m[k]
                    del model[k]
                else:
                    with pytest.raises(KeyError):
                        del m[k]
        assert dict(m.items()) == model
        assert dict(m.lookup_batch()) == model


def test_ring_consumer_protocol(no_leaks):
    with ebpf.Map.create(MapSpec(name="rb", type=MapType.RINGBUF, max_entries=4096)) as rb:
        c = rb._ring_consumer()
        try:
            assert c.fileno() >= 0 and c.read() == [] and c.wait(0) is False
        finally:
            c.close()
    with ebpf.Map.create(spec(MapType.HASH)) as h:
        with pytest.raises(NotSupportedError):
            h._ring_consumer()


def test_unsized_map_error_says_what_to_set(no_leaks):
    with pytest.raises(ebpf.LoadError, match="max_entries is 0: set it"):
        ebpf.Map.create(MapSpec(name="stacks", type=MapType.STACK_TRACE, key_size=4,
                                value_size=8, max_entries=0))


def test_unknown_map_type_is_not_supported(no_leaks):
    with pytest.raises(NotSupportedError, match="map type 999"):
        ebpf.Map.create(MapSpec(name="x", type=999, key_size=4, value_size=4, max_entries=1))
    m = ebpf.Map.create(MapSpec(name="x", type=1, key_size=4, value_size=4, max_entries=1))
    assert m.type is MapType.HASH  # plain ints are accepted
    m.close()


def test_perf_event_array_sizes_fixed_and_cpus_filled(no_leaks, bpf_compile):
    # value type = the event struct (cilium testdata style), no max_entries (libbpf
    # fills in the possible CPUs): both load
    with ebpf.Map.create(MapSpec(name="pe16", type=MapType.PERF_EVENT_ARRAY, key_size=4,
                                 value_size=16)) as pe:
        assert (pe.key_size, pe.value_size) == (4, 4)
        assert pe.info().value_size == 4
    src = r"""
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct event { __u64 a, b; };

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__type(key, int);
	__type(value, struct event);
} events SEC(".maps");

SEC("xdp")
int send(struct xdp_md *ctx)
{
	struct event e = { 1, 2 };

	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e));
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
"""
    with ebpf.load(bpf_compile(src, name="perf16"), backend="kernel") as obj:
        info = obj.maps["events"].info()
        assert (info.key_size, info.value_size) == (4, 4)
        assert info.max_entries == probes.possible_cpus()
        assert obj.programs["send"].test_run(bytes(64)).retval == 2
