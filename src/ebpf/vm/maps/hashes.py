"""Hash maps: HASH, LRU and per-CPU variants, hash of maps."""

from __future__ import annotations

import errno
from collections import OrderedDict
from typing import Any

from ...errors import MapError
from ...maps import BPF_EXIST, BPF_NOEXIST
from ...spec import MapSpec
from ...uapi import MapType
from ..memory import GLOBAL, LIVE, Elements, Region, links_changed
from .base import _REFS, RefValues, VMMap, next_key_after, ref_id
from .limits import charge_bytes, element_footprint, grows

# ---------------------------------------------------------------------------
# hashes
# ---------------------------------------------------------------------------
#: hash-map values live in slabs of this many entries (one region per slab),
#: so a map of 100k entries is a few thousand regions, not 100k
SLAB_ENTRIES = 64


class HashMap(VMMap):
    """HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH.

    Values live in slabs of :data:`SLAB_ENTRIES` slots (per CPU for per-CPU
    maps); a deleted element's slot is reused, as the kernel recycles
    preallocated elements. LRU maps evict the least recently used key (lookups
    and updates from programs count as uses) exactly when full; the kernel's LRU
    is an approximation with per-CPU free lists, so which key goes, and how
    early, can differ there."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        #: key -> slot
        self.entries: OrderedDict[bytes, int] = OrderedDict()
        self.lru = spec.type in (MapType.LRU_HASH, MapType.LRU_PERCPU_HASH)
        #: per CPU: slab buffers and their regions
        self.slab_bufs: list[list[bytearray]] = [[] for _ in range(self.ncpu)]
        self.slab_regions: list[list[Region]] = [[] for _ in range(self.ncpu)]
        self.free_slots: list[int] = []
        self.next_slot = 0
        #: per slab: which slots hold an element (memory.Elements.live)
        self.slab_live: list[bytearray] = []
        #: BPF_F_NO_PREALLOC: charged a slab at a time (limits.grows)
        self.grows = grows(spec)
        self.element_bytes = element_footprint(spec, self.ncpu)

    def _release(self) -> None:
        GLOBAL.free(*(r for regions in self.slab_regions for r in regions))
        self.entries.clear()

    def _new_slot(self) -> int:
        if self.free_slots:
            slot = self.free_slots.pop()
        else:
            slot = self.next_slot
            if slot % SLAB_ENTRIES == 0 and self.grows:  # charged as it grows (ENOMEM)
                self._charged += charge_bytes(SLAB_ENTRIES * self.element_bytes,
                                              f"map {self.name}: new elements",
                                              f"{SLAB_ENTRIES} elements")
            self.next_slot += 1
            if slot % SLAB_ENTRIES == 0:
                size = SLAB_ENTRIES * self.stride
                live = bytearray(SLAB_ENTRIES)
                self.slab_live.append(live)
                elem = Elements(self.stride, self.value_size, live)
                for c in range(self.ncpu):
                    buf = bytearray(size)
                    self.slab_bufs[c].append(buf)
                    self.slab_regions[c].append(GLOBAL.allocate(
                        buf, f"map {self.name} values", size=size, owner=self, elem=elem))
        for c in range(self.ncpu):  # a new element starts zeroed on every CPU
            buf, off = self._view(slot, c)
            buf[off:off + self.stride] = bytes(self.stride)
        self.slab_live[slot // SLAB_ENTRIES][slot % SLAB_ENTRIES] = LIVE
        return slot

    def _free_slot(self, slot: int) -> None:
        """Give ``slot`` back (its value unreachable once no run may hold it)."""
        self.free_slots.append(slot)
        GLOBAL.retire(self.slab_live[slot // SLAB_ENTRIES], slot % SLAB_ENTRIES)

    def _view(self, slot: int, cpu: int) -> tuple[bytearray, int]:
        return (self.slab_bufs[cpu][slot // SLAB_ENTRIES],
                (slot % SLAB_ENTRIES) * self.stride)

    def _addr(self, slot: int, cpu: int) -> int:
        return (self.slab_regions[cpu][slot // SLAB_ENTRIES].base
                + (slot % SLAB_ENTRIES) * self.stride)

    def _value(self, slot: int, cpu: int, n: int | None = None) -> bytes:
        buf, off = self._view(slot, cpu)
        return bytes(buf[off:off + (self.value_size if n is None else n)])

    def _write(self, slot: int, cpu: int, value: bytes) -> None:
        buf, off = self._view(slot, cpu)
        buf[off:off + self.value_size] = self._clear_kptrs(value[:self.value_size])

    def _insert(self, key: bytes, flags: int) -> tuple[int | None, int]:
        """The slot to write for an update with ``flags`` (created if needed)."""
        mode = flags & 3
        if mode == 3 or flags & ~7:
            return None, -errno.EINVAL
        slot = self.entries.get(key)
        if slot is not None:
            if mode == BPF_NOEXIST:
                return None, -errno.EEXIST
            if self.lru:
                self.entries.move_to_end(key)
            return slot, 0
        if mode == BPF_EXIST:
            return None, -errno.ENOENT
        if len(self.entries) >= self.max_entries:
            if not self.lru:
                return None, -errno.E2BIG
            _, old = self.entries.popitem(last=False)
            self._free_slot(old)
        try:
            slot = self._new_slot()
        except MapError:  # over the map memory limit: the kernel's failed allocation
            return None, -errno.ENOMEM
        self.entries[key] = slot
        return slot, 0

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        slot = self.entries.get(key)
        if slot is None:
            return 0
        if self.lru:
            try:
                self.entries.move_to_end(key)
            except KeyError:
                pass
        return self._addr(slot, cpu % self.ncpu if self.per_cpu else 0)

    def prog_lookup_cpu(self, key: bytes, cpu: int) -> int:
        slot = self.entries.get(key)
        if slot is None or not self.per_cpu or cpu >= self.ncpu:
            return 0
        return self._addr(slot, cpu)

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        with self._lock:
            slot, rc = self._insert(key, flags)
            if slot is None:
                return rc
            self._write(slot, cpu % self.ncpu if self.per_cpu else 0, value)
            return 0

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        with self._lock:
            slot, rc = self._insert(key, flags)
            if slot is None:
                return rc
            if self.per_cpu:
                for c in range(self.ncpu):
                    self._write(slot, c, value[c * self.stride:c * self.stride + self.value_size])
            else:
                self._write(slot, 0, value)
            return 0

    def prog_delete(self, key: bytes) -> int:
        with self._lock:
            slot = self.entries.pop(key, None)
            if slot is None:
                return -errno.ENOENT
            self._free_slot(slot)
            return 0

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        slot = self.entries.get(key)
        if slot is None:
            return None
        if self.per_cpu:
            return self._clear_kptrs(b"".join(self._value(slot, c, self.stride)
                                              for c in range(self.ncpu)))
        return self._clear_kptrs(self._value(slot, 0))

    def _keyed(self) -> dict[bytes, Any]:
        """What the map holds by key (for iteration)."""
        return self.entries

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        with self._lock:
            keys = list(self._keyed())
        return next_key_after(keys, key)

    def raw_keys(self):
        with self._lock:
            keys = list(self._keyed())
        for k in keys:
            if k in self._keyed():
                yield k

    def for_each(self):
        """(key, value address on CPU 0) snapshot, for bpf_for_each_map_elem."""
        with self._lock:
            return [(k, self._addr(slot, 0)) for k, slot in self.entries.items()]


class HashOfMapsMap(RefValues, HashMap):
    """HASH_OF_MAPS: values are inner maps; lookup gives the inner map pointer."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.inner: dict[bytes, VMMap] = {}

    def _check_value(self, value: bytes, what: str) -> None:
        if len(value) != 4:
            raise MapError(f"{what} of map {self.name}: value must be 4 bytes", errno.EINVAL)

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        obj = _REFS.get(int.from_bytes(value[:4], "little"))
        if not isinstance(obj, VMMap):
            raise MapError(f"update of map {self.name}: values must be vm maps", errno.EINVAL)
        with self._lock:
            mode = flags & 3
            if mode == BPF_NOEXIST and key in self.inner:
                return -errno.EEXIST
            if mode == BPF_EXIST and key not in self.inner:
                return -errno.ENOENT
            if key not in self.inner and len(self.inner) >= self.max_entries:
                return -errno.E2BIG
            self.inner[key] = obj
        links_changed()
        return 0

    def _keyed(self) -> dict[bytes, Any]:
        return self.inner

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        m = self.inner.get(key)
        return 0 if m is None else m.handle

    def reachable_values(self) -> list[Any]:
        return list(self.inner.values())

    def prog_delete(self, key: bytes) -> int:
        with self._lock:
            if self.inner.pop(key, None) is None:
                return -errno.ENOENT
        links_changed()
        return 0

    def lookup_bytes(self, key: bytes) -> bytes | None:
        m = self.inner.get(key)
        return None if m is None else ref_id(m).to_bytes(4, "little")
