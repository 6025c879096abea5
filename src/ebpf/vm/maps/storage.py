"""Local storage maps (task, socket, inode, cgroup): one value per owner object."""

from __future__ import annotations

import errno
from typing import Any

from ...errors import MapError
from ...maps import BPF_EXIST, BPF_NOEXIST
from ...spec import MapSpec
from ...uapi import MapType
from ..memory import GLOBAL, Region
from .base import ENOTSUPP, VMMap

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
        self._by_owner: dict[Any, Region] = {}

    def _release(self) -> None:
        GLOBAL.free(*self._by_owner.values())
        self._by_owner.clear()

    # program side
    def storage_get(self, owner: Any, init: bytes | None, flags: int) -> int:
        if owner is None or flags & ~LOCAL_STORAGE_F_CREATE:
            return 0
        with self._lock:
            r = self._by_owner.get(owner)
            if r is None:
                if not flags & LOCAL_STORAGE_F_CREATE:
                    return 0
                buf = bytearray(init if init is not None else bytes(self.value_size))
                r = self._by_owner[owner] = GLOBAL.allocate(buf, f"map {self.name} value",
                                                            owner=self)
            return r.base

    def storage_delete(self, owner: Any) -> int:
        if owner is None:
            return -errno.EINVAL
        with self._lock:
            r = self._by_owner.pop(owner, None)
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
        r = self._by_owner.get(self._owner_of_fd(key, "lookup"))
        return None if r is None else bytes(r.buf[:self.value_size])

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        owner = self._owner_of_fd(key, "update")
        with self._lock:
            r = self._by_owner.get(owner)
            if flags & 3 == BPF_NOEXIST and r is not None:
                return -errno.EEXIST
            if flags & 3 == BPF_EXIST and r is None:
                return -errno.ENOENT
            if r is None:
                self._by_owner[owner] = GLOBAL.allocate(bytearray(value),
                                                        f"map {self.name} value", owner=self)
            else:
                r.buf[:self.value_size] = value
        return 0

    def prog_delete(self, key: bytes) -> int:
        return self.storage_delete(self._owner_of_fd(key, "delete"))

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        raise MapError(f"iterating map {self.name}: local storage maps have no keys to walk "
                       "(the kernel answers ENOTSUPP)", ENOTSUPP)
