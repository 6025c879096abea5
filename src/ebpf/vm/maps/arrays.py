"""Arrays: ARRAY (and per-CPU), program and map arrays, cgroup arrays."""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from ...errors import MapError
from ...maps import BPF_ANY, BPF_EXIST, BPF_F_LOCK, BPF_NOEXIST
from ...spec import BPF_F_RDONLY_PROG, MapSpec
from ..memory import GLOBAL, Elements, links_changed
from .base import _REFS, ENOTSUPP, RefValues, VMMap, ref_id


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
        elem = Elements(self.stride, spec.value_size)
        self.regions = [GLOBAL.allocate(b, f"map {spec.name} values" + (f" cpu{i}" if self.per_cpu
                                                                           else ""),
                                        size=size, writable=not readonly, owner=self, elem=elem)
                        for i, b in enumerate(self.bufs)]
        if spec.data is not None and not self.per_cpu:
            self.bufs[0][:len(spec.data)] = spec.data

    def _release(self) -> None:
        GLOBAL.free(*self.regions)

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
        buf[i * self.stride:i * self.stride + self.value_size] = \
            self._clear_kptrs(value[:self.value_size])
        return 0

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        i = self._index(key)
        if i is None:
            return -errno.E2BIG
        if flags & 3 == BPF_NOEXIST:
            return -errno.EEXIST
        start = i * self.stride
        value = self._clear_kptrs(value)
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
            return self._clear_kptrs(b"".join(bytes(b[start:start + self.stride])
                                              for b in self.bufs))
        return self._clear_kptrs(bytes(self.bufs[0][start:start + self.value_size]))

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        i = self._index(key) if key is not None else None
        i = 0 if i is None else i + 1
        if i >= self.max_entries:
            return None
        return i.to_bytes(4, "little")


class _FdArray(RefValues, VMMap):
    """Arrays of references (PROG_ARRAY, ARRAY_OF_MAPS, PERF_EVENT_ARRAY slots)."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.slots: list[Any] = [None] * spec.max_entries
        #: called with the index of a slot after it changed (the native
        #: executor's tail-call table follows a program array)
        self._change_hooks: list[Callable[[int], None]] = []

    def _changed(self, i: int) -> None:
        links_changed()  # what programs using this array reach changed
        for hook in self._change_hooks:
            hook(i)

    def reachable_values(self) -> list[Any]:
        """The programs or maps in the slots (see memory.AddressSpace)."""
        return [o for o in self.slots if o is not None]

    def _index(self, key: bytes) -> int | None:
        i = int.from_bytes(key[:4], "little")
        return i if i < self.max_entries else None

    def _resolve(self, value: bytes) -> Any:
        obj = _REFS.get(int.from_bytes(value[:4], "little"))
        if obj is None:
            raise MapError(f"update of map {self.name}: {int.from_bytes(value[:4], 'little')} "
                           "is not a vm object id (use the vm Program/Map objects)", errno.EBADF)
        return obj

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
        self._changed(i)
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
        self._changed(i)
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
        from ..programs import VMProgram

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
        from ..cgroups import cgroup_of_fd

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
