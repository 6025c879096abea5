"""create_map: check a MapSpec as the kernel does and make the runtime map of its type."""

from __future__ import annotations

import errno

from ...errors import LoadError, NotSupportedError
from ...spec import MapSpec
from ...uapi import MapType
from .arrays import ArrayMap, ArrayOfMapsMap, CgroupArrayMap, ProgArrayMap
from .base import VMMap, log
from .cpus import possible_cpus
from .devices import DevArrayMap, DevHashMap, StackTraceMap
from .hashes import HashMap, HashOfMapsMap
from .lpm import LpmTrieMap
from .queues import BloomFilterMap, QueueStackMap
from .records import PerfEventArrayMap, RingBufMap
from .storage import LocalStorageMap


# ---------------------------------------------------------------------------
def _validate(spec: MapSpec) -> None:
    t = spec.type

    def bad(msg: str) -> LoadError:
        return LoadError(f"creating map {spec.name!r} ({t.name}): {msg}", errno.EINVAL)

    storage = t in (MapType.TASK_STORAGE, MapType.SK_STORAGE, MapType.INODE_STORAGE,
                    MapType.CGRP_STORAGE)
    if storage:
        if spec.key_size != 4:
            raise bad(f"key_size must be 4, an fd (is {spec.key_size})")
        if spec.max_entries:
            raise bad(f"max_entries must be 0 (is {spec.max_entries})")
    if spec.max_entries <= 0 and t not in (MapType.RINGBUF,) and not storage:
        raise bad("max_entries must be positive")
    if t in (MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS,
             MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY) and spec.key_size != 4:
        raise bad(f"key_size must be 4 (is {spec.key_size})")
    if t in (MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER) and spec.key_size != 0:
        raise bad(f"key_size must be 0 (is {spec.key_size})")
    if t in (MapType.HASH, MapType.PERCPU_HASH, MapType.LRU_HASH, MapType.LRU_PERCPU_HASH,
             MapType.HASH_OF_MAPS) and spec.key_size <= 0:
        raise bad("key_size must be positive")
    if t == MapType.CGROUP_ARRAY and spec.value_size != 4:
        raise bad(f"value_size must be 4, a cgroup fd (is {spec.value_size})")
    if t == MapType.LPM_TRIE and not 5 <= spec.key_size <= 4 + 256:
        raise bad(f"key_size must be 4 + 1..256 bytes (is {spec.key_size})")
    if t == MapType.RINGBUF:
        n = spec.max_entries
        if n <= 0 or n & (n - 1) or n % 4096:
            raise bad(f"max_entries must be a power of 2 and a multiple of the page size (is {n})")
    if t not in (MapType.RINGBUF, MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS,
                 MapType.HASH_OF_MAPS, MapType.PERF_EVENT_ARRAY) and spec.value_size <= 0:
        raise bad("value_size must be positive")


_TYPES: dict[MapType, type[VMMap]] = {
    MapType.ARRAY: ArrayMap,
    MapType.PERCPU_ARRAY: ArrayMap,
    MapType.HASH: HashMap,
    MapType.PERCPU_HASH: HashMap,
    MapType.LRU_HASH: HashMap,
    MapType.LRU_PERCPU_HASH: HashMap,
    MapType.LPM_TRIE: LpmTrieMap,
    MapType.PROG_ARRAY: ProgArrayMap,
    MapType.ARRAY_OF_MAPS: ArrayOfMapsMap,
    MapType.HASH_OF_MAPS: HashOfMapsMap,
    MapType.QUEUE: QueueStackMap,
    MapType.STACK: QueueStackMap,
    MapType.BLOOM_FILTER: BloomFilterMap,
    MapType.RINGBUF: RingBufMap,
    MapType.PERF_EVENT_ARRAY: PerfEventArrayMap,
    MapType.DEVMAP: DevArrayMap,
    MapType.CPUMAP: DevArrayMap,
    MapType.XSKMAP: DevArrayMap,
    MapType.DEVMAP_HASH: DevHashMap,
    MapType.STACK_TRACE: StackTraceMap,
    MapType.CGROUP_ARRAY: CgroupArrayMap,
    MapType.TASK_STORAGE: LocalStorageMap,
    MapType.SK_STORAGE: LocalStorageMap,
    MapType.INODE_STORAGE: LocalStorageMap,
    MapType.CGRP_STORAGE: LocalStorageMap,
}


def create_map(spec: MapSpec) -> VMMap:
    """Create a map of the runtime from ``spec`` (initial ``contents`` and
    ``data`` applied; ``.rodata``-style maps frozen)."""
    cls = _TYPES.get(spec.type)
    if cls is None:
        raise NotSupportedError(f"{spec.type.name} maps", detail="in the vm backend")
    if spec.type == MapType.PERF_EVENT_ARRAY and spec.max_entries == 0:
        spec = spec.copy()  # one slot per possible CPU, as libbpf sizes it
        spec.max_entries = possible_cpus()
        spec.key_size = spec.key_size or 4
        spec.value_size = spec.value_size or 4
    if spec.type == MapType.CGROUP_ARRAY and not (spec.key_size and spec.value_size):
        spec = spec.copy()  # values are cgroup fds: u32, as the kernel backend sizes them
        spec.key_size = spec.key_size or 4
        spec.value_size = spec.value_size or 4
    _validate(spec)
    m = cls(spec)
    try:
        for key, value in spec.contents:
            if isinstance(value, (str, MapSpec)):
                continue  # program / inner-map names: resolved by the object loader
            m[key] = value
    except Exception:
        m.close()
        raise
    if spec.freeze:
        m.freeze()
    log.debug("created %r", m)
    return m
