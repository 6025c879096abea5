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

import errno
import itertools
import logging
import os
import select
import threading
import weakref
from collections import OrderedDict, deque
from typing import Any

from ..errors import KeyExistsError, LoadError, MapError, MapFullError, NotSupportedError
from ..maps import ARRAY_TYPES, BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST, Map
from ..spec import BPF_F_RDONLY_PROG, MapSpec
from ..uapi import MapType
from .memory import GLOBAL, MAP_HANDLES, Region

log = logging.getLogger("ebpf.vm")

_num_cpus: int | None = None


def possible_cpus() -> int:
    """Number of virtual CPUs of per-CPU maps: ``EBPF_VM_CPUS``, else the host's
    possible CPUs (as the kernel counts them), else ``os.cpu_count()``."""
    global _num_cpus
    if _num_cpus is None:
        env = os.environ.get("EBPF_VM_CPUS")
        if env:
            _num_cpus = max(1, int(env))
        else:
            _num_cpus = _read_possible() or os.cpu_count() or 1
    return _num_cpus


def set_num_cpus(n: int) -> None:
    """Set the number of virtual CPUs for maps created afterwards."""
    global _num_cpus
    if n < 1:
        raise ValueError("at least one CPU")
    _num_cpus = n


def _read_possible() -> int | None:
    try:
        with open("/sys/devices/system/cpu/possible") as f:
            text = f.read().strip()
    except OSError:
        return None
    count = 0
    for part in text.split(","):
        if "-" in part:
            lo, hi = part.split("-")
            count += int(hi) - int(lo) + 1
        elif part:
            count += 1
    return count or None


def _round8(n: int) -> int:
    return (n + 7) & ~7


def _err(what: str, map_: VMMap, code: int, detail: str = "") -> MapError:
    msg = f"{what} of map {map_.name}" + (f": {detail}" if detail else "")
    if code == errno.EEXIST:
        return KeyExistsError(msg, code)
    if code in (errno.E2BIG, errno.ENOSPC):
        return MapFullError(msg, code)
    return MapError(msg, code)


class VMMap(Map):
    """Base of the runtime's maps. Program-side operations return 0 or -errno,
    user-side (``*_bytes``) ones raise :class:`ebpf.MapError` subclasses."""

    backend = "vm"

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self._lock = threading.RLock()
        self.handle = MAP_HANDLES.register(self)
        self.frozen = False
        self.ncpu = possible_cpus() if self.per_cpu else 1
        self.stride = _round8(spec.value_size)

    @property
    def num_cpus(self) -> int:
        return self.ncpu if self.per_cpu else possible_cpus()

    def close(self) -> None:
        if self._closed:
            return
        super().close()
        MAP_HANDLES.unregister(self.handle)
        self._release()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    def _release(self) -> None:
        """Unmap every value region."""

    def freeze(self) -> None:
        """Refuse further updates from user space (BPF_MAP_FREEZE)."""
        self.frozen = True

    # ---- program side (helpers) ------------------------------------------------
    def prog_lookup(self, key: bytes, cpu: int) -> int:
        """Address of the value for ``key`` (on ``cpu`` for per-CPU maps), or 0."""
        return 0

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        return -errno.EINVAL

    def prog_delete(self, key: bytes) -> int:
        return -errno.EINVAL

    def prog_push(self, value: bytes, flags: int) -> int:
        return -errno.EINVAL

    def prog_pop(self, peek: bool) -> bytes | int:
        return -errno.EINVAL

    def prog_lookup_cpu(self, key: bytes, cpu: int) -> int:
        """bpf_map_lookup_percpu_elem: value on a given CPU (per-CPU maps only)."""
        return 0

    # ---- user side -------------------------------------------------------------
    def _check_key(self, key: bytes, what: str) -> None:
        if len(key) != self.key_size:
            raise MapError(f"{what} of map {self.name}: key must be {self.key_size} bytes, "
                           f"got {len(key)}", errno.EINVAL)

    def _check_value(self, value: bytes, what: str) -> None:
        want = self.stride * self.ncpu if self.per_cpu else self.value_size
        if len(value) != want:
            raise MapError(f"{what} of map {self.name}: value must be {want} bytes, "
                           f"got {len(value)}", errno.EINVAL)

    def update_bytes(self, key: bytes, value: bytes, flags: int = BPF_ANY) -> None:
        self._check_key(key, "update")
        self._check_value(value, "update")
        if self.frozen:
            raise MapError(f"update of map {self.name}: map is frozen", errno.EPERM)
        rc = self._user_update(key, value, flags)
        if rc:
            raise _err("update", self, -rc, _detail(self, -rc, flags))

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        return -errno.EINVAL

    def delete_bytes(self, key: bytes) -> bool:
        self._check_key(key, "delete")
        if self.frozen:
            raise MapError(f"delete from map {self.name}: map is frozen", errno.EPERM)
        rc = self.prog_delete(key)
        if rc == -errno.ENOENT:
            return False
        if rc:
            raise _err("delete", self, -rc, _detail(self, -rc, 0))
        return True

    def __repr__(self) -> str:
        return super().__repr__().replace("<VM", "<vm.VM", 1)


def _detail(m: VMMap, code: int, flags: int) -> str:
    if code == errno.EEXIST:
        return "key exists (BPF_NOEXIST)"
    if code == errno.ENOENT:
        return "no such key (BPF_EXIST)"
    if code == errno.E2BIG and m.type in ARRAY_TYPES:
        return f"index out of range (max_entries {m.max_entries})"
    if code == errno.E2BIG:
        return f"no room for a new key (max_entries {m.max_entries})"
    if code == errno.EINVAL and m.type in (MapType.ARRAY, MapType.PERCPU_ARRAY):
        return "array elements cannot be deleted"
    return ""


# ---------------------------------------------------------------------------
# arrays
# ---------------------------------------------------------------------------
class ArrayMap(VMMap):
    """ARRAY and PERCPU_ARRAY: preallocated, zero-filled, never deleted."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        size = self.stride * spec.max_entries
        readonly = bool(spec.flags & BPF_F_RDONLY_PROG)
        self.bufs = [bytearray(size) for _ in range(self.ncpu)]
        self.regions = [GLOBAL.allocate(b, f"map {spec.name} values" + (f" cpu{i}" if self.per_cpu
                                                                           else ""),
                                        size=size, writable=not readonly)
                        for i, b in enumerate(self.bufs)]
        if spec.data is not None and not self.per_cpu:
            self.bufs[0][:len(spec.data)] = spec.data

    def _release(self) -> None:
        for r in self.regions:
            GLOBAL.free(r)

    def _index(self, key: bytes) -> int | None:
        i = int.from_bytes(key[:4], "little")
        return i if i < self.max_entries else None

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        i = self._index(key)
        if i is None:
            return 0
        return self.regions[cpu % self.ncpu if self.per_cpu else 0].base + i * self.stride

    def prog_lookup_cpu(self, key: bytes, cpu: int) -> int:
        if not self.per_cpu or cpu >= self.ncpu:
            return 0
        i = self._index(key)
        return 0 if i is None else self.regions[cpu].base + i * self.stride

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        i = self._index(key)
        if flags & ~BPF_F_LOCK > BPF_EXIST:
            return -errno.EINVAL
        if i is None:
            return -errno.E2BIG
        if flags & 3 == BPF_NOEXIST:
            return -errno.EEXIST
        buf = self.bufs[cpu % self.ncpu if self.per_cpu else 0]
        buf[i * self.stride:i * self.stride + self.value_size] = value[:self.value_size]
        return 0

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        i = self._index(key)
        if i is None:
            return -errno.E2BIG
        if flags & 3 == BPF_NOEXIST:
            return -errno.EEXIST
        start = i * self.stride
        with self._lock:
            if self.per_cpu:
                for c in range(self.ncpu):
                    chunk = value[c * self.stride:c * self.stride + self.value_size]
                    self.bufs[c][start:start + self.value_size] = chunk
            else:
                self.bufs[0][start:start + self.value_size] = value
        return 0

    def prog_delete(self, key: bytes) -> int:
        return -errno.EINVAL

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        i = self._index(key)
        if i is None:
            return None
        start = i * self.stride
        if self.per_cpu:
            return b"".join(bytes(b[start:start + self.stride]) for b in self.bufs)
        return bytes(self.bufs[0][start:start + self.value_size])

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        i = self._index(key) if key is not None else None
        i = 0 if i is None else i + 1
        if i >= self.max_entries:
            return None
        return i.to_bytes(4, "little")


class _FdArray(VMMap):
    """Arrays of references (PROG_ARRAY, ARRAY_OF_MAPS, PERF_EVENT_ARRAY slots)."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.slots: list[Any] = [None] * spec.max_entries

    def _index(self, key: bytes) -> int | None:
        i = int.from_bytes(key[:4], "little")
        return i if i < self.max_entries else None

    def _resolve(self, value: bytes) -> Any:
        obj = _REFS.get(int.from_bytes(value[:4], "little"))
        if obj is None:
            raise MapError(f"update of map {self.name}: {int.from_bytes(value[:4], 'little')} "
                           "is not a vm object id (use the vm Program/Map objects)", errno.EBADF)
        return obj

    def encode_value(self, value: Any) -> bytes:
        if isinstance(value, int):
            return value.to_bytes(4, "little")
        return ref_id(value).to_bytes(4, "little")

    def decode_value(self, raw: bytes) -> Any:
        return int.from_bytes(raw[:4], "little")

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        i = self._index(key)
        if i is None:
            return -errno.E2BIG
        obj = self._resolve(value)
        self._check_object(obj)
        with self._lock:
            if flags & 3 == BPF_NOEXIST and self.slots[i] is not None:
                return -errno.EEXIST
            if flags & 3 == BPF_EXIST and self.slots[i] is None:
                return -errno.ENOENT
            self.slots[i] = obj
        return 0

    def _check_value(self, value: bytes, what: str) -> None:
        if len(value) != 4:
            raise MapError(f"{what} of map {self.name}: value must be 4 bytes", errno.EINVAL)

    def _check_object(self, obj: Any) -> None:
        pass

    def prog_delete(self, key: bytes) -> int:
        i = self._index(key)
        if i is None or self.slots[i] is None:
            return -errno.ENOENT
        self.slots[i] = None
        return 0

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        i = self._index(key)
        if i is None or self.slots[i] is None:
            return None
        return ref_id(self.slots[i]).to_bytes(4, "little")

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        start = 0
        if key is not None:
            i = self._index(key)
            start = 0 if i is None else i + 1
        for j in range(start, self.max_entries):
            if self.slots[j] is not None:
                return j.to_bytes(4, "little")
        return None

    def slot(self, index: int) -> Any:
        """The object in slot ``index`` (None when empty or out of range)."""
        if 0 <= index < self.max_entries:
            return self.slots[index]
        return None


class ProgArrayMap(_FdArray):
    """PROG_ARRAY: programs for bpf_tail_call."""

    def _check_object(self, obj: Any) -> None:
        from .programs import VMProgram

        if not isinstance(obj, VMProgram):
            raise MapError(f"map {self.name}: a program array holds vm programs", errno.EINVAL)


class ArrayOfMapsMap(_FdArray):
    """ARRAY_OF_MAPS: lookup gives the inner map (a map pointer for helpers)."""

    def _check_object(self, obj: Any) -> None:
        if not isinstance(obj, VMMap):
            raise MapError(f"map {self.name}: values must be vm maps", errno.EINVAL)

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        i = self._index(key)
        if i is None or self.slots[i] is None:
            return 0
        return self.slots[i].handle


#: the kernel-internal "not supported" errno user-space lookups of some fd arrays get
ENOTSUPP = 524


class CgroupArrayMap(VMMap):
    """CGROUP_ARRAY: cgroup v2 directories by index, for
    bpf_current_task_under_cgroup / bpf_skb_under_cgroup. As in the kernel, a
    value is written as an fd open on a cgroup v2 directory (the runtime keeps
    the cgroup's identity, not the fd), flags must be BPF_ANY, and values cannot
    be read back from user space (ENOTSUPP).

    >>> import os, ebpf  # doctest: +SKIP
    >>> m = ebpf.Map.create(ebpf.MapSpec(name="cg", type=ebpf.MapType.CGROUP_ARRAY,
    ...     key_size=4, value_size=4, max_entries=1), backend="vm")  # doctest: +SKIP
    >>> m[0] = os.open("/sys/fs/cgroup/unified", os.O_RDONLY)  # doctest: +SKIP
    """

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.slots: list[tuple[int, int] | None] = [None] * spec.max_entries

    def _index(self, key: bytes) -> int | None:
        i = int.from_bytes(key[:4], "little")
        return i if i < self.max_entries else None

    def _check_value(self, value: bytes, what: str) -> None:
        if len(value) != 4:
            raise MapError(f"{what} of map {self.name}: value must be 4 bytes (a cgroup fd)",
                           errno.EINVAL)

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        from .cgroups import cgroup_of_fd

        if flags != BPF_ANY:
            return -errno.EINVAL
        i = self._index(key)
        if i is None:
            return -errno.E2BIG
        cg = cgroup_of_fd(int.from_bytes(value, "little"), f"update of map {self.name}")
        with self._lock:
            self.slots[i] = cg
        return 0

    def prog_delete(self, key: bytes) -> int:
        i = self._index(key)
        if i is None:
            return -errno.E2BIG
        with self._lock:
            if self.slots[i] is None:
                return -errno.ENOENT
            self.slots[i] = None
        return 0

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        raise MapError(f"lookup in map {self.name}: cgroup array values cannot be read from "
                       "user space (the kernel answers ENOTSUPP)", ENOTSUPP)

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        i = self._index(key) if key is not None else None
        i = 0 if i is None else i + 1
        return i.to_bytes(4, "little") if i < self.max_entries else None

    def cgroup(self, index: int) -> tuple[int, int] | None | int:
        """(dev, inode) of the cgroup in slot ``index``; None when empty;
        -E2BIG past the end (what the helpers answer)."""
        if not 0 <= index < self.max_entries:
            return -errno.E2BIG
        return self.slots[index]


#: BPF_LOCAL_STORAGE_GET_F_CREATE
LOCAL_STORAGE_F_CREATE = 1


class LocalStorageMap(VMMap):
    """TASK_STORAGE, SK_STORAGE, INODE_STORAGE, CGRP_STORAGE: one value per
    owner object, made by the ``bpf_*_storage_get`` helpers (with
    BPF_LOCAL_STORAGE_GET_F_CREATE) and dropped by ``bpf_*_storage_delete``.
    Owners are the runtime's objects (a task is its thread id, others the
    pointer the program passed). From user space, as in the kernel, the key is
    an fd: a pidfd for task storage (other kinds have no fd the runtime can
    relate to its objects: MapError ENOTSUPP); iteration is not supported."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.values: dict[Any, Region] = {}

    def _release(self) -> None:
        for r in self.values.values():
            GLOBAL.free(r)
        self.values.clear()

    # program side
    def storage_get(self, owner: Any, init: bytes | None, flags: int) -> int:
        if owner is None or flags & ~LOCAL_STORAGE_F_CREATE:
            return 0
        with self._lock:
            r = self.values.get(owner)
            if r is None:
                if not flags & LOCAL_STORAGE_F_CREATE:
                    return 0
                buf = bytearray(init if init is not None else bytes(self.value_size))
                r = self.values[owner] = GLOBAL.allocate(buf, f"map {self.name} value")
            return r.base

    def storage_delete(self, owner: Any) -> int:
        if owner is None:
            return -errno.EINVAL
        with self._lock:
            r = self.values.pop(owner, None)
        if r is None:
            return -errno.ENOENT
        GLOBAL.free(r)
        return 0

    # user side
    def _owner_of_fd(self, key: bytes, what: str) -> Any:
        fd = int.from_bytes(key[:4], "little", signed=True)
        if self.type != MapType.TASK_STORAGE:
            raise MapError(f"{what} of map {self.name}: the vm cannot relate fd {fd} to its "
                           f"{self.type.name.lower()} owners", ENOTSUPP)
        try:
            with open(f"/proc/self/fdinfo/{fd}") as f:
                pid = next((int(line.split()[1]) for line in f if line.startswith("Pid:")),
                           None)
        except (OSError, ValueError):
            pid = None
        if pid is None or pid <= 0:
            raise MapError(f"{what} of map {self.name}: fd {fd} is not a pidfd", errno.EBADF)
        return ("task", pid)

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        r = self.values.get(self._owner_of_fd(key, "lookup"))
        return None if r is None else bytes(r.buf[:self.value_size])

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        owner = self._owner_of_fd(key, "update")
        with self._lock:
            r = self.values.get(owner)
            if flags & 3 == BPF_NOEXIST and r is not None:
                return -errno.EEXIST
            if flags & 3 == BPF_EXIST and r is None:
                return -errno.ENOENT
            if r is None:
                self.values[owner] = GLOBAL.allocate(bytearray(value), f"map {self.name} value")
            else:
                r.buf[:self.value_size] = value
        return 0

    def prog_delete(self, key: bytes) -> int:
        return self.storage_delete(self._owner_of_fd(key, "delete"))

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        raise MapError(f"iterating map {self.name}: local storage maps have no keys to walk "
                       "(the kernel answers ENOTSUPP)", ENOTSUPP)


# registry of vm objects stored in fd arrays (programs, maps): small int ids,
# held weakly (the fd arrays themselves hold the objects they contain)
_REFS: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
_REF_IDS: dict[int, int] = {}
_REF_LOCK = threading.Lock()
_next_ref = itertools.count(1000)


def ref_id(obj: Any) -> int:
    """A small id standing for a vm program or map in fd-array values (like an fd)."""
    with _REF_LOCK:
        rid = _REF_IDS.get(id(obj))
        if rid is None or _REFS.get(rid) is not obj:
            rid = next(_next_ref)
            _REFS[rid] = obj
            _REF_IDS[id(obj)] = rid
        return rid


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

    def _release(self) -> None:
        for regions in self.slab_regions:
            for r in regions:
                GLOBAL.free(r)
        self.entries.clear()

    def _new_slot(self) -> int:
        if self.free_slots:
            slot = self.free_slots.pop()
        else:
            slot = self.next_slot
            self.next_slot += 1
            if slot % SLAB_ENTRIES == 0:
                size = SLAB_ENTRIES * self.stride
                for c in range(self.ncpu):
                    buf = bytearray(size)
                    self.slab_bufs[c].append(buf)
                    self.slab_regions[c].append(GLOBAL.allocate(
                        buf, f"map {self.name} values", size=size))
        for c in range(self.ncpu):  # a new element starts zeroed on every CPU
            buf, off = self._view(slot, c)
            buf[off:off + self.stride] = bytes(self.stride)
        return slot

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
        buf[off:off + self.value_size] = value[:self.value_size]

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
            self.free_slots.append(old)
        slot = self._new_slot()
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
            self.free_slots.append(slot)
            return 0

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        slot = self.entries.get(key)
        if slot is None:
            return None
        if self.per_cpu:
            return b"".join(self._value(slot, c, self.stride) for c in range(self.ncpu))
        return self._value(slot, 0)

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        with self._lock:
            keys = list(self.entries)
        if not keys:
            return None
        if key is None or key not in self.entries:
            return keys[0]
        i = keys.index(key)
        return keys[i + 1] if i + 1 < len(keys) else None

    def raw_keys(self):
        with self._lock:
            keys = list(self.entries)
        for k in keys:
            if k in self.entries:
                yield k

    def for_each(self):
        """(key, value address on CPU 0) snapshot, for bpf_for_each_map_elem."""
        with self._lock:
            return [(k, self._addr(slot, 0)) for k, slot in self.entries.items()]


class HashOfMapsMap(HashMap):
    """HASH_OF_MAPS: values are inner maps; lookup gives the inner map pointer."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.inner: dict[bytes, VMMap] = {}

    def encode_value(self, value: Any) -> bytes:
        if isinstance(value, int):
            return value.to_bytes(4, "little")
        return ref_id(value).to_bytes(4, "little")

    def decode_value(self, raw: bytes) -> Any:
        return int.from_bytes(raw[:4], "little")

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
        return 0

    def raw_keys(self):
        with self._lock:
            keys = list(self.inner)
        for k in keys:
            if k in self.inner:
                yield k

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        m = self.inner.get(key)
        return 0 if m is None else m.handle

    def prog_delete(self, key: bytes) -> int:
        with self._lock:
            return 0 if self.inner.pop(key, None) is not None else -errno.ENOENT

    def lookup_bytes(self, key: bytes) -> bytes | None:
        m = self.inner.get(key)
        return None if m is None else ref_id(m).to_bytes(4, "little")

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        keys = list(self.inner)
        if not keys:
            return None
        if key is None or key not in self.inner:
            return keys[0]
        i = keys.index(key)
        return keys[i + 1] if i + 1 < len(keys) else None


# ---------------------------------------------------------------------------
# LPM trie
# ---------------------------------------------------------------------------
class LpmTrieMap(HashMap):
    """LPM_TRIE: key = u32 prefix length + data; lookups find the longest
    stored prefix that matches."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.max_bits = (spec.key_size - 4) * 8

    def _norm(self, key: bytes) -> bytes | None:
        plen = int.from_bytes(key[:4], "little")
        if plen > self.max_bits:
            return None
        data = int.from_bytes(key[4:], "big")
        masked = data >> (self.max_bits - plen) << (self.max_bits - plen) if plen else 0
        return key[:4] + masked.to_bytes(self.key_size - 4, "big")

    def _match(self, key: bytes) -> bytes | None:
        plen = min(int.from_bytes(key[:4], "little"), self.max_bits)
        data = int.from_bytes(key[4:], "big")
        nbytes = self.key_size - 4
        for p in range(plen, -1, -1):
            shift = self.max_bits - p
            k = p.to_bytes(4, "little") + ((data >> shift << shift) if p else 0).to_bytes(nbytes,
                                                                                          "big")
            if k in self.entries:
                return k
        return None

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        k = self._match(key)
        return 0 if k is None else self._addr(self.entries[k], 0)

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        k = self._norm(key)
        if k is None:
            return -errno.EINVAL
        return super().prog_update(k, value, flags, cpu)

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        k = self._norm(key)
        if k is None:
            return -errno.EINVAL
        return super()._user_update(k, value, flags)

    def prog_delete(self, key: bytes) -> int:
        k = self._norm(key)
        if k is None:
            return -errno.EINVAL
        return super().prog_delete(k)

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        k = self._match(key)
        return None if k is None else self._value(self.entries[k], 0)


# ---------------------------------------------------------------------------
# queue, stack, bloom filter
# ---------------------------------------------------------------------------
class QueueStackMap(VMMap):
    """QUEUE (FIFO) and STACK (LIFO); BPF_EXIST on a full map drops the oldest."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.queue: deque[bytes] = deque()
        self.lifo = spec.type == MapType.STACK

    def prog_push(self, value: bytes, flags: int) -> int:
        if flags & ~BPF_EXIST:
            return -errno.EINVAL
        with self._lock:
            if len(self.queue) >= self.max_entries:
                if not flags & BPF_EXIST:
                    return -errno.E2BIG
                self.queue.popleft()
            self.queue.append(bytes(value[:self.value_size]))
        return 0

    def prog_pop(self, peek: bool) -> bytes | int:
        with self._lock:
            if not self.queue:
                return -errno.ENOENT
            if self.lifo:
                return self.queue[-1] if peek else self.queue.pop()
            return self.queue[0] if peek else self.queue.popleft()

    def push_bytes(self, value: bytes, flags: int = BPF_ANY) -> None:
        if len(value) != self.value_size:
            raise MapError(f"push to map {self.name}: value must be {self.value_size} bytes",
                           errno.EINVAL)
        rc = self.prog_push(value, flags)
        if rc:
            raise _err("push", self, -rc, _detail(self, -rc, flags))

    def pop_bytes(self, peek: bool = False) -> bytes | None:
        v = self.prog_pop(peek)
        return None if isinstance(v, int) else v

    def lookup_bytes(self, key: bytes) -> bytes | None:
        return self.pop_bytes(peek=True)

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        return None

    def __len__(self) -> int:
        return len(self.queue)


class BloomFilterMap(VMMap):
    """BLOOM_FILTER: push adds a value, peek says whether it may be there
    (this one is exact: no false positives)."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.members: set[bytes] = set()

    def prog_push(self, value: bytes, flags: int) -> int:
        if flags != BPF_ANY:
            return -errno.EINVAL
        with self._lock:
            self.members.add(bytes(value[:self.value_size]))
        return 0

    def prog_pop(self, peek: bool) -> bytes | int:
        return -errno.EOPNOTSUPP

    def contains(self, value: bytes) -> bool:
        return bytes(value[:self.value_size]) in self.members

    def push_bytes(self, value: bytes, flags: int = BPF_ANY) -> None:
        rc = self.prog_push(value, flags)
        if rc:
            raise _err("push", self, -rc)

    def __contains__(self, value: object) -> bool:
        from .. import codec

        return self.contains(codec.encode(value, self.value_size, self.spec.value_type))

    def lookup_bytes(self, key: bytes) -> bytes | None:
        return None

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        return None


# ---------------------------------------------------------------------------
# ring buffer and perf event array
# ---------------------------------------------------------------------------
class _Notifier:
    """Wakes a consumer: an eventfd where Linux has one, else a condition."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.fd: int | None = None
        if hasattr(os, "eventfd"):
            self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)

    def notify(self) -> None:
        with self.cond:
            self.cond.notify_all()
        if self.fd is not None:
            try:
                os.eventfd_write(self.fd, 1)
            except OSError:
                pass

    def drain(self) -> None:
        if self.fd is not None:
            try:
                os.eventfd_read(self.fd)
            except OSError:
                pass

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class RecordConsumer:
    """What ``map._ring_consumer()`` gives ``ebpf.RingBuffer``/``ebpf.PerfBuffer``:
    ``wait(timeout)``, ``read()`` (records available now, consumed),
    ``fileno()`` (an eventfd that becomes readable on new records, or None), ``close()``."""

    def __init__(self, source: _RecordMap):
        self.source = source
        self.notifier = _Notifier()
        source._consumers.append(self)

    def fileno(self) -> int | None:
        return self.notifier.fd

    def wait(self, timeout: float | None = None) -> bool:
        """True once records are available (False on timeout)."""
        if self.source.pending():
            return True
        if self.notifier.fd is not None:
            r, _, _ = select.select([self.notifier.fd], [], [], timeout)
            self.notifier.drain()
            return self.source.pending()
        with self.notifier.cond:
            self.notifier.cond.wait_for(self.source.pending, timeout)
        return self.source.pending()

    def read(self) -> list[bytes]:
        self.notifier.drain()
        return self.source.take()

    def close(self) -> None:
        try:
            self.source._consumers.remove(self)
        except ValueError:
            pass
        self.notifier.close()


class _RecordMap(VMMap):
    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.records: deque[bytes] = deque()
        self._consumers: list[RecordConsumer] = []

    def pending(self) -> bool:
        return bool(self.records)

    def take(self) -> list[bytes]:
        with self._lock:
            out = list(self.records)
            self.records.clear()
            self._taken(out)
            return out

    def _taken(self, records: list[bytes]) -> None:
        pass

    def _wake(self) -> None:
        for c in list(self._consumers):
            c.notifier.notify()

    def _ring_consumer(self) -> RecordConsumer:
        return RecordConsumer(self)

    def _release(self) -> None:
        for c in list(self._consumers):
            c.close()

    def lookup_bytes(self, key: bytes) -> bytes | None:
        return None

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        return None


#: BPF_RB_* flags and ringbuf_query selectors
BPF_RB_NO_WAKEUP = 1
BPF_RB_FORCE_WAKEUP = 2
RB_HDR = 8


class RingSlot:
    """One record of a ring buffer: reserved (busy), then submitted or discarded."""

    __slots__ = ("size", "cost", "data", "state")
    BUSY, SUBMITTED, DISCARDED = range(3)

    def __init__(self, size: int, cost: int):
        self.size = size
        self.cost = cost
        self.data: bytes | None = None
        self.state = RingSlot.BUSY


class RingBufMap(_RecordMap):
    """RINGBUF: records reserved/submitted by programs, read by ebpf.RingBuffer.

    Positions and space are counted as the kernel does (8-byte header + data
    rounded to 8 per record): a reservation fails when the producer would get a
    whole buffer ahead of the consumer; discarded records keep their space until
    the consumer passes them; readers stop at a record still reserved."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.slots: deque[RingSlot] = deque()
        self.cons_pos = 0
        self.prod_pos = 0

    @staticmethod
    def cost(size: int) -> int:
        return RB_HDR + _round8(size)

    def reserve(self, size: int) -> RingSlot | None:
        with self._lock:
            c = self.cost(size)
            if c > self.max_entries or self.prod_pos + c - self.cons_pos > self.max_entries - 1:
                return None
            self.prod_pos += c
            slot = RingSlot(size, c)
            self.slots.append(slot)
            return slot

    def commit(self, slot: RingSlot, data: bytes | None, flags: int) -> None:
        """Submit (``data``) or discard (None) a reserved record."""
        with self._lock:
            slot.data = data
            slot.state = RingSlot.DISCARDED if data is None else RingSlot.SUBMITTED
        if data is not None and not flags & BPF_RB_NO_WAKEUP:
            self._wake()

    def pending(self) -> bool:
        with self._lock:
            for slot in self.slots:
                if slot.state == RingSlot.BUSY:
                    return False
                if slot.state == RingSlot.SUBMITTED:
                    return True
            return False

    def take(self) -> list[bytes]:
        out = []
        with self._lock:
            while self.slots and self.slots[0].state != RingSlot.BUSY:
                slot = self.slots.popleft()
                self.cons_pos += slot.cost
                if slot.state == RingSlot.SUBMITTED:
                    out.append(slot.data)
        return out

    def avail_data(self) -> int:
        with self._lock:
            return self.prod_pos - self.cons_pos


class PerfEventArrayMap(_RecordMap):
    """PERF_EVENT_ARRAY: bpf_perf_event_output records (per CPU; read in order)."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.cpu_of: deque[int] = deque()

    def output(self, cpu: int, data: bytes) -> int:
        if not self._consumers:
            # no perf event behind the slot (nobody opened a PerfBuffer): -ENOENT
            return -errno.ENOENT
        # the kernel pads a raw sample so that size + its u32 length is 8-aligned
        data = data + bytes((-(len(data) + 4)) % 8)
        with self._lock:
            self.records.append(data)
        self._wake()
        return 0

    def encode_value(self, value: Any) -> bytes:
        return int(value if isinstance(value, int) else 0).to_bytes(4, "little")

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        raise MapError(f"lookup in map {self.name}: perf event array values cannot be read "
                       "from user space (the kernel answers ENOTSUPP)", ENOTSUPP)

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        # every index is a key, as the kernel's array iteration (which restarts
        # at 0 after a key past the end)
        i = int.from_bytes(key[:4], "little") + 1 if key is not None else 0
        i = 0 if i > self.max_entries else i
        return i.to_bytes(4, "little") if i < self.max_entries else None


# ---------------------------------------------------------------------------
# device maps and stack traces: loadable, usable from user space and by the
# redirect/stack helpers
# ---------------------------------------------------------------------------
class DevArrayMap(ArrayMap):
    """DEVMAP, CPUMAP, XSKMAP: ifindexes / CPUs / sockets by index, for
    bpf_redirect_map. Unlike plain arrays, slots start empty and can be deleted."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.used: set[int] = set()

    def present(self, key: bytes) -> int | None:
        i = self._index(key)
        if i is None or i not in self.used:
            return None
        return int.from_bytes(self.bufs[0][i * self.stride:i * self.stride + 4], "little")

    def prog_lookup(self, key: bytes, cpu: int) -> int:
        i = self._index(key)
        return super().prog_lookup(key, cpu) if i in self.used else 0

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        i = self._index(key)
        if i is not None and flags & 3 == BPF_NOEXIST and i in self.used:
            return -errno.EEXIST
        rc = super()._user_update(key, value, flags & ~3)
        if not rc and i is not None:
            self.used.add(i)
        return rc

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        return -errno.EOPNOTSUPP

    def prog_delete(self, key: bytes) -> int:
        i = self._index(key)
        if i is None or i not in self.used:
            return -errno.ENOENT
        self.used.discard(i)
        start = i * self.stride
        self.bufs[0][start:start + self.stride] = bytes(self.stride)
        return 0

    def lookup_bytes(self, key: bytes) -> bytes | None:
        i = self._index(key)
        return super().lookup_bytes(key) if i in self.used else None


class DevHashMap(HashMap):
    """DEVMAP_HASH: ifindexes by key, for bpf_redirect_map."""

    def present(self, key: bytes) -> int | None:
        slot = self.entries.get(key)
        return None if slot is None else int.from_bytes(self._value(slot, 0, 4), "little")


class StackTraceMap(HashMap):
    """STACK_TRACE: filled by bpf_get_stackid (the runtime has no stacks to
    walk, so it stays empty); programs cannot update it."""

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        return -errno.EINVAL


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
