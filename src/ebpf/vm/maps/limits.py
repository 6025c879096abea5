"""The map memory cap: what the runtime's maps may take of the host's memory.

The kernel charges a map's memory at creation (to the memory cgroup, formerly
RLIMIT_MEMLOCK) and refuses a map it cannot afford. The runtime lives inside a
Python process, so it charges each map what it can grow to (keys and values of
``max_entries`` elements, per CPU for per-CPU maps; a hash map created with
``BPF_F_NO_PREALLOC`` as its elements come) against one process-wide
limit, :func:`map_memory_limit` (default 1 GiB, ``EBPF_VM_MAP_MEMORY`` bytes,
or :func:`set_map_memory_limit`). A map over it is refused at creation with an
:class:`ebpf.MapError` (``ENOMEM``) naming the sizes, instead of exhausting the
host's memory when a program fills it.

>>> from ebpf.vm.maps.limits import map_footprint
>>> import ebpf
>>> map_footprint(ebpf.MapSpec(name="a", type=ebpf.MapType.ARRAY, key_size=4,
...                            value_size=6, max_entries=10), ncpu=1)
80
"""

from __future__ import annotations

import errno
import os
import threading

from ...errors import MapError
from ...spec import MapSpec
from ...uapi import MapType
from ...uapi.consts import BPF_F_NO_PREALLOC

_PER_CPU = {MapType.PERCPU_ARRAY, MapType.PERCPU_HASH, MapType.LRU_PERCPU_HASH}
_VALUES_ONLY = {MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.QUEUE, MapType.STACK,
                MapType.BLOOM_FILTER}

_lock = threading.Lock()
_limit: int | None = None
_charged = 0


def map_memory_limit() -> int:
    """Bytes all live vm maps may take together."""
    global _limit
    if _limit is None:
        env = os.environ.get("EBPF_VM_MAP_MEMORY")
        _limit = int(env) if env else 1 << 30
    return _limit


def set_map_memory_limit(limit: int) -> None:
    """Set the limit for maps created afterwards (bytes)."""
    global _limit
    if limit < 0:
        raise ValueError("a limit of at least 0 bytes")
    _limit = limit


def grows(spec: MapSpec) -> bool:
    """A hash map created with BPF_F_NO_PREALLOC: charged as its elements come, as
    the kernel allocates them (a full one past the limit gets ``-ENOMEM``), not
    for ``max_entries`` at creation."""
    return spec.type in (MapType.HASH, MapType.PERCPU_HASH) and bool(
        spec.flags & BPF_F_NO_PREALLOC)


def element_footprint(spec: MapSpec, ncpu: int) -> int:
    """Bytes one element of a hash map takes (its key and its value on every CPU)."""
    per = ncpu if spec.type in _PER_CPU else 1
    return ((spec.key_size + 7) & ~7) + ((spec.value_size + 7) & ~7) * per


def map_footprint(spec: MapSpec, ncpu: int) -> int:
    """Bytes ``spec`` can take once full (0 for one that :func:`grows`)."""
    if grows(spec):
        return 0
    stride = (spec.value_size + 7) & ~7
    per = ncpu if spec.type in _PER_CPU else 1
    if spec.type in (MapType.RINGBUF, MapType.USER_RINGBUF):
        return 2 * spec.max_entries   # the data area is mapped twice, as the kernel's
    if spec.type in _VALUES_ONLY:
        return stride * per * spec.max_entries
    return ((spec.key_size + 7) & ~7) * spec.max_entries + stride * per * spec.max_entries


def charge(spec: MapSpec, ncpu: int) -> int:
    """Reserve ``spec``'s footprint; raise MapError (ENOMEM) when over the limit."""
    return charge_bytes(map_footprint(spec, ncpu), f"create map {spec.name}",
                        f"{spec.max_entries} entries")


def charge_bytes(n: int, what: str, detail: str) -> int:
    """Reserve ``n`` bytes for ``what``; raise MapError (ENOMEM) when over the limit."""
    global _charged
    with _lock:
        limit = map_memory_limit()
        if _charged + n > limit:
            raise MapError(f"{what}: needs {n} bytes ({detail}), {limit - _charged} of the "
                           f"vm's map memory limit of {limit} bytes left "
                           "(ebpf.vm.maps.set_map_memory_limit, EBPF_VM_MAP_MEMORY)",
                           errno.ENOMEM)
        _charged += n
    return n


def uncharge(n: int) -> None:
    global _charged
    with _lock:
        _charged -= n


def charged() -> int:
    """Bytes live vm maps are charged for now."""
    return _charged
