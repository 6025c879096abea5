"""Device maps and stack traces: loadable, usable from user space and by the redirect/stack helpers."""

from __future__ import annotations

import errno

from ...maps import BPF_NOEXIST
from ...spec import MapSpec
from .arrays import ArrayMap
from .hashes import HashMap


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
    """STACK_TRACE: filled by bpf_get_stackid (with the program's call frames,
    see :mod:`ebpf.vm.helpers.stacks`); programs cannot update it."""

    def prog_update(self, key: bytes, value: bytes, flags: int, cpu: int) -> int:
        return -errno.EINVAL

    def store_stack(self, stack_id: int, value: bytes, reuse: bool) -> int:
        """bpf_get_stackid's write of ``value`` under ``stack_id``: 0, or -EEXIST
        when another stack holds the id and ``reuse`` is off."""
        key = stack_id.to_bytes(4, "little")
        value = value[:self.value_size].ljust(self.value_size, b"\0")
        with self._lock:
            slot = self.entries.get(key)
            if slot is not None and self._value(slot, 0) != value and not reuse:
                return -errno.EEXIST
            slot, rc = self._insert(key, 0)
            if slot is None:
                return rc
            self._write(slot, 0, value)
            return 0
