"""Maps of the user-space runtime, with the kernel's semantics.

Values live in ``bytearray`` objects mapped into the runtime's address space, so
programs use them through pointers exactly as in the kernel (``bpf_map_lookup_elem``
returns the address of the value). Every map type keeps the kernel's rules: the
update flags (``BPF_ANY``/``BPF_NOEXIST``/``BPF_EXIST``), the errors (EEXIST,
ENOENT, E2BIG when full, EINVAL for deleting from an array), LRU eviction, longest
prefix match, per-CPU values over N virtual CPUs.

>>> import ebpf
>>> from ebpf.vm.maps import create_map
>>> m = create_map(ebpf.MapSpec(name="h", type=ebpf.MapType.HASH, key_size=4,
...                             value_size=8, max_entries=2))
>>> m[1] = 5; m[2] = 6
>>> m[3] = 7
Traceback (most recent call last):
...
ebpf.errors.MapFullError: update of map h: no room for a new key (max_entries 2): ...
"""

from __future__ import annotations

from .arena import ArenaMap
from .arrays import ArrayMap, ArrayOfMapsMap, CgroupArrayMap, ProgArrayMap
from .base import VMMap, ref_id
from .cgroup_storage import CgroupStorageMap
from .cpus import possible_cpus, set_num_cpus
from .create import _TYPES, create_map
from .devices import DevArrayMap, DevHashMap, StackTraceMap
from .hashes import HashMap, HashOfMapsMap
from .limits import map_memory_limit, set_map_memory_limit
from .lpm import LpmTrieMap
from .queues import BloomFilterMap, QueueStackMap
from .records import PerfEventArrayMap, RecordConsumer
from .reuseport import ReuseportArrayMap
from .ringbuf import RingBufMap
from .sockets import SockHashMap, SockMapMap
from .storage import LocalStorageMap
from .userring import UserRingBufMap

__all__ = ["ArenaMap", "ArrayMap", "ArrayOfMapsMap", "BloomFilterMap", "CgroupArrayMap",
           "CgroupStorageMap", "DevArrayMap", "DevHashMap", "HashMap", "HashOfMapsMap",
           "LocalStorageMap", "LpmTrieMap", "PerfEventArrayMap", "ProgArrayMap", "QueueStackMap",
           "RecordConsumer", "ReuseportArrayMap", "RingBufMap", "SockHashMap", "SockMapMap", "StackTraceMap",
           "UserRingBufMap", "VMMap", "_TYPES", "create_map", "map_memory_limit",
           "possible_cpus", "ref_id", "set_map_memory_limit",
           "set_num_cpus"]
