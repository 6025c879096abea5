"""Maps honour the MutableMapping contract: keys()/items()/values() are views
(live, re-read on each iteration), on every map class of both backends; a
task-storage map's .values() is the method, not an attribute (issue #10 §3)."""

from __future__ import annotations

from collections.abc import ItemsView, KeysView, ValuesView

import pytest

import ebpf
from ebpf.uapi import MapType as T


def _spec(t: T) -> ebpf.MapSpec:
    key, value, n = 4, 8, 4
    if t in (T.QUEUE, T.STACK, T.BLOOM_FILTER):
        key = 0
    if t in (T.RINGBUF, T.USER_RINGBUF):
        key, value, n = 0, 0, 4096
    if t in (T.TASK_STORAGE, T.SK_STORAGE, T.INODE_STORAGE, T.CGRP_STORAGE):
        n = 0
    if t == T.LPM_TRIE:
        key = 8
    if t in (T.CGROUP_STORAGE, T.PERCPU_CGROUP_STORAGE):
        key, n = 16, 0  # struct bpf_cgroup_storage_key; no max_entries
    if t in (T.PROG_ARRAY, T.ARRAY_OF_MAPS, T.HASH_OF_MAPS, T.PERF_EVENT_ARRAY, T.CGROUP_ARRAY,
             T.DEVMAP, T.DEVMAP_HASH, T.CPUMAP, T.XSKMAP):
        value = 4
    if t == T.STACK_TRACE:
        value = 8 * 8
    flags = 1 if t == T.LPM_TRIE else 0  # BPF_F_NO_PREALLOC
    if t == T.ARENA:
        key, value, n, flags = 0, 0, 4, 1 << 10  # pages; BPF_F_MMAPABLE
    inner = ebpf.MapSpec(name="inner", type=T.ARRAY, key_size=4, value_size=4, max_entries=1) \
        if t in (T.ARRAY_OF_MAPS, T.HASH_OF_MAPS) else None
    return ebpf.MapSpec(name=f"m_{t.name.lower()}"[:15], type=t, key_size=key, value_size=value,
                        max_entries=n, flags=flags, inner=inner)


def _vm_types() -> list[T]:
    from ebpf.vm.maps.create import _TYPES

    return sorted(_TYPES, key=int)


def _check_views(m: ebpf.Map) -> None:
    assert isinstance(m.keys(), KeysView)
    assert isinstance(m.items(), ItemsView)
    assert isinstance(m.values(), ValuesView)


@pytest.mark.parametrize("map_type", _vm_types(), ids=lambda t: t.name)
def test_every_vm_map_class_gives_views(map_type):
    with ebpf.Map.create(_spec(map_type), backend="vm") as m:
        _check_views(m)


KERNEL_TYPES = [T.HASH, T.ARRAY, T.PERCPU_HASH, T.PERCPU_ARRAY, T.LRU_HASH, T.LPM_TRIE,
                T.QUEUE, T.STACK, T.BLOOM_FILTER, T.RINGBUF, T.PROG_ARRAY,
                T.PERF_EVENT_ARRAY, T.DEVMAP, T.DEVMAP_HASH, T.CPUMAP]


@pytest.mark.kernel
@pytest.mark.parametrize("map_type", KERNEL_TYPES, ids=lambda t: t.name)
def test_kernel_map_classes_give_views(map_type):
    with ebpf.Map.create(_spec(map_type), backend="kernel") as m:
        _check_views(m)


@pytest.mark.parametrize("backend", ["vm", pytest.param("kernel", marks=pytest.mark.kernel)])
def test_views_are_live(backend):
    with ebpf.Map.create(_spec(T.HASH), backend=backend) as m:
        keys, items, values = m.keys(), m.items(), m.values()
        m[1] = 10
        m[2] = 20
        assert sorted(keys) == [1, 2] and sorted(items) == [(1, 10), (2, 20)]
        assert sorted(values) == [10, 20] and len(values) == 2
        assert (1, 10) in items and 20 in values and 2 in keys
        del m[1]
        assert list(items) == [(2, 20)] and list(values) == [20]


def test_task_storage_values_is_the_method():
    with ebpf.Map.create(_spec(T.TASK_STORAGE), backend="vm") as m:
        values = m.values()            # was TypeError: 'dict' object is not callable
        assert isinstance(values, ValuesView)
        with pytest.raises(ebpf.MapError, match="no keys to walk"):
            list(values)               # as the kernel: local storage cannot be iterated
