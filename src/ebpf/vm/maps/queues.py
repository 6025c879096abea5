"""QUEUE, STACK and BLOOM_FILTER."""

from __future__ import annotations

import errno
from collections import deque

from ...errors import MapError
from ...maps import BPF_ANY, BPF_EXIST, element_error
from ...spec import MapSpec
from ...uapi import MapType
from .base import VMMap


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
            raise element_error(self, "push", -rc)

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
            raise element_error(self, "push", -rc)

    def __contains__(self, value: object) -> bool:
        from ... import codec

        return self.contains(codec.encode(value, self.value_size, self.spec.value_type))

    def lookup_bytes(self, key: bytes) -> bytes | None:
        return None

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        return None
