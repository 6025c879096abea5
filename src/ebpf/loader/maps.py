"""Map specs as the kernel checks them at creation: one wording of what is
wrong, for every backend (the vm checks before creating; the kernel backend
explains an EINVAL with it)."""

from __future__ import annotations

import errno

from ..errors import LoadError
from ..spec import MapSpec
from ..uapi import MapType

__all__ = ["map_spec_error", "map_spec_problem"]


def map_spec_problem(spec: MapSpec) -> str:
    """What the kernel would refuse in ``spec`` with EINVAL, in words ("" when
    nothing): sizes and entry counts each map type needs."""
    t = spec.type

    storage = t in (MapType.TASK_STORAGE, MapType.SK_STORAGE, MapType.INODE_STORAGE,
                    MapType.CGRP_STORAGE)
    if storage:
        if spec.key_size != 4:
            return f"key_size must be 4, an fd (is {spec.key_size})"
        if spec.max_entries:
            return f"max_entries must be 0 (is {spec.max_entries})"
    if t in (MapType.CGROUP_STORAGE, MapType.PERCPU_CGROUP_STORAGE):
        if spec.key_size not in (8, 16):
            return ("key_size must be 8 (a cgroup id) or 16 (struct bpf_cgroup_storage_key) "
                    f"(is {spec.key_size})")
        if spec.max_entries:
            return f"max_entries must be 0 (is {spec.max_entries})"
        storage = True
    if spec.max_entries <= 0 and t not in (MapType.RINGBUF,) and not storage:
        return "max_entries must be positive"
    if t in (MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS,
             MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY) and spec.key_size != 4:
        return f"key_size must be 4 (is {spec.key_size})"
    if t in (MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER) and spec.key_size != 0:
        return f"key_size must be 0 (is {spec.key_size})"
    if t in (MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH,
             MapType.HASH_OF_MAPS) and spec.key_size <= 0:
        return "key_size must be positive"
    if t == MapType.CGROUP_ARRAY and spec.value_size != 4:
        return f"value_size must be 4, a cgroup fd (is {spec.value_size})"
    if t == MapType.LPM_TRIE and not 5 <= spec.key_size <= 4 + 256:
        return f"key_size must be 4 + 1..256 bytes (is {spec.key_size})"
    if t in (MapType.RINGBUF, MapType.USER_RINGBUF):
        if t == MapType.USER_RINGBUF and (spec.key_size or spec.value_size):
            return "key_size and value_size must be 0"
        n = spec.max_entries
        if n <= 0 or n & (n - 1) or n % 4096:
            return f"max_entries must be a power of 2 and a multiple of the page size (is {n})"
    if t not in (MapType.RINGBUF, MapType.USER_RINGBUF, MapType.ARENA, MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS,
                 MapType.HASH_OF_MAPS, MapType.PERF_EVENT_ARRAY) and spec.value_size <= 0:
        return "value_size must be positive"
    return ""


def map_spec_error(spec: MapSpec, problem: str) -> LoadError:
    """The error of creating the map of ``spec`` refused for ``problem``."""
    return LoadError(f"creating map {spec.name!r} ({spec.type.name}): {problem}", errno.EINVAL)
