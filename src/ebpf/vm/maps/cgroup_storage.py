"""CGROUP_STORAGE and PERCPU_CGROUP_STORAGE: the storage of a cgroup program
(``bpf_get_local_storage``).

The kernel gives each (cgroup, attach type) a program is attached to one value of
each storage map the program uses (one per CPU for the per-CPU kind), made at
attach and keyed by ``struct bpf_cgroup_storage_key`` (16 bytes with padding: cgroup id, attach
type, 16 bytes with padding) or by the cgroup id alone (8-byte keys: one value per cgroup whatever the
attach type). A test run gets storage of its own, zeroed, shared by the run's
repetitions and dropped after it: the map does not see it. User space cannot make
or delete entries: an update of a key without storage is ``ENOENT``, a delete
``EINVAL``.

The runtime attaches no program to a cgroup, so its maps hold no entries; programs
run (``test_run``, ``run``) with the test run's storage.
"""

from __future__ import annotations

import errno

from ...maps import BPF_EXIST
from ...spec import MapSpec
from ..memory import GLOBAL, Memory, Region
from .base import VMMap

#: where a run's storage values are placed (run-local, below 4 GiB)
STORAGE_BASE = 0x5000_0000


class CgroupStorageMap(VMMap):
    """CGROUP_STORAGE / PERCPU_CGROUP_STORAGE (values of attached cgroups, by key)."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        #: key -> the value region (all CPUs' values, ``stride`` apart, when per-CPU)
        self._entries: dict[bytes, Region] = {}

    def _release(self) -> None:
        GLOBAL.free(*self._entries.values())
        self._entries.clear()

    def _size(self) -> int:
        return self.stride * self.ncpu if self.per_cpu else self.value_size

    # ---- a run's storage ------------------------------------------------------------
    def run_storage(self, mem: Memory, storage: dict[int, Region]) -> Region:
        """The storage of the run on ``mem`` (made zeroed on first use, kept in
        ``storage`` for the rest of the test run)."""
        r = storage.get(self.handle)
        if r is None:
            base = STORAGE_BASE + 0x10_0000 * len(storage)
            r = storage[self.handle] = mem.add_local(
                Region(base, bytearray(self._size()), f"cgroup storage {self.name}"))
        return r

    def value_address(self, region: Region, cpu: int) -> int:
        return region.base + (self.stride * cpu if self.per_cpu else 0)

    # ---- user side ------------------------------------------------------------------
    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._check_key(key, "lookup")
        r = self._entries.get(bytes(key))
        return None if r is None else bytes(r.buf[:self._size()])

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        if flags & ~4 > BPF_EXIST:  # BPF_F_LOCK aside, BPF_ANY/NOEXIST/EXIST
            return -errno.EINVAL
        with self._lock:
            r = self._entries.get(bytes(key))
            if r is None:
                return -errno.ENOENT
            r.buf[:len(value)] = value
        return 0

    def prog_delete(self, key: bytes) -> int:
        return -errno.EINVAL

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        keys = list(self._entries)
        if key is None:
            return keys[0] if keys else None
        try:
            i = keys.index(bytes(key))
        except ValueError:
            return None
        return keys[i + 1] if i + 1 < len(keys) else None


__all__ = ["CgroupStorageMap"]
