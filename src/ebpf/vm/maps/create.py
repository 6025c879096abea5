"""create_map: check a MapSpec as the kernel does and make the runtime map of its type."""

from __future__ import annotations

from ...errors import NotSupportedError
from ...loader.maps import map_spec_error, map_spec_problem
from ...loader.types import known_type
from ...spec import MapSpec
from ...uapi import MapType
from .arena import ArenaMap
from .arrays import ArrayMap, ArrayOfMapsMap, CgroupArrayMap, ProgArrayMap
from .base import VMMap, log
from .cgroup_storage import CgroupStorageMap
from .cpus import possible_cpus
from .devices import DevArrayMap, DevHashMap, StackTraceMap
from .hashes import HashMap, HashOfMapsMap
from .limits import charge, uncharge
from .lpm import LpmTrieMap
from .queues import BloomFilterMap, QueueStackMap
from .records import PerfEventArrayMap
from .reuseport import ReuseportArrayMap
from .ringbuf import RingBufMap
from .sockets import SockHashMap, SockMapMap
from .storage import LocalStorageMap
from .structops import StructOpsMap
from .userring import UserRingBufMap

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
    MapType.USER_RINGBUF: UserRingBufMap,
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
    MapType.STRUCT_OPS: StructOpsMap,
    MapType.CGROUP_STORAGE: CgroupStorageMap,
    MapType.ARENA: ArenaMap,
    MapType.SOCKMAP: SockMapMap,
    MapType.SOCKHASH: SockHashMap,
    MapType.REUSEPORT_SOCKARRAY: ReuseportArrayMap,
    MapType.PERCPU_CGROUP_STORAGE: CgroupStorageMap,
}


def create_map(spec: MapSpec) -> VMMap:
    """Create a map of the runtime from ``spec`` (initial ``contents`` and
    ``data`` applied; ``.rodata``-style maps frozen)."""
    spec = known_type(spec)
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
    problem = map_spec_problem(spec)
    if problem:
        raise map_spec_error(spec, problem)
    charged = charge(spec, possible_cpus())
    try:
        m = cls(spec)
    except BaseException:
        uncharge(charged)
        raise
    m._charged = charged
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
