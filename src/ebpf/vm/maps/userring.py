"""USER_RINGBUF: records user space produces and programs drain
(``bpf_user_ringbuf_drain``).

The ring is laid out as the kernel lays it out for user space: a consumer
position (the kernel's to write), a producer position (user space's), and a data
area of ``max_entries`` bytes where each record is an 8-byte header (u32 length
with bit 31 BUSY and bit 30 DISCARD, u32 padding) and its data, 8-byte aligned.
The data area is ``2 * max_entries`` bytes long: the kernel maps it twice in a
row so that a record that wraps reads as one contiguous slice; here a record is
always written and read from ``pos % max_entries`` onwards, which sees the same
bytes. :class:`ebpf.UserRingBuffer` is the producer, for both backends.
"""

from __future__ import annotations

import errno
import struct

from ...errors import MapError
from ...spec import MapSpec
from ...userringbuf import BUSY_BIT, DISCARD_BIT, HDR_SIZE, UserRingMemory
from ..memory import GLOBAL
from .base import ENOTSUPP, VMMap
from .records import _Notifier

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class UserRingBufMap(VMMap):
    """USER_RINGBUF: no elements; user space writes records, programs drain them."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.size = spec.max_entries
        self.cons = bytearray(8)
        self.prod = bytearray(8)
        self.data = bytearray(2 * self.size)
        #: the data area in the runtime's memory, where the samples a program gets live
        self.region = GLOBAL.allocate(self.data, f"user ringbuf {self.name} data", owner=self)
        self.busy = False
        self._space = _Notifier()

    def _release(self) -> None:
        GLOBAL.free(self.region)
        self._space.close()

    def _user_ring(self) -> UserRingMemory:
        return UserRingMemory(self.size, memoryview(self.cons), memoryview(self.prod),
                              memoryview(self.data), fileno=lambda: self._space.fd)

    # ---- the kernel's consumer (bpf_user_ringbuf_drain) --------------------------
    def peek(self) -> tuple[int, int, int]:
        """(0 or -errno, data offset of the sample, its size), as the kernel's
        ``__bpf_user_ringbuf_peek``: -ENODATA when empty, -EAGAIN for a BUSY
        record (left) or a DISCARDed one (consumed), -EINVAL / -E2BIG when the
        producer broke the ring's rules."""
        cons = _U64.unpack_from(self.cons, 0)[0]
        prod = _U64.unpack_from(self.prod, 0)[0]
        if prod % 8:
            return -errno.EINVAL, 0, 0
        if cons == prod:
            return -errno.ENODATA, 0, 0
        off = cons & (self.size - 1)
        hdr = _U32.unpack_from(self.data, off)[0]
        flags = hdr & (BUSY_BIT | DISCARD_BIT)
        length = hdr & ~flags
        total = (length + HDR_SIZE + 7) & ~7
        if total > prod - cons:
            return -errno.EINVAL, 0, 0
        if length > self.size - HDR_SIZE:
            return -errno.E2BIG, 0, 0
        if flags & BUSY_BIT:
            return -errno.EAGAIN, 0, 0
        if flags & DISCARD_BIT:
            self.release(length)
            return -errno.EAGAIN, 0, 0
        return 0, off + HDR_SIZE, length

    def consumer_pos(self) -> int:
        return _U64.unpack_from(self.cons, 0)[0]

    def release(self, length: int) -> None:
        """Consume the sample of ``length`` bytes at the consumer position."""
        cons = _U64.unpack_from(self.cons, 0)[0]
        _U64.pack_into(self.cons, 0, cons + ((length + HDR_SIZE + 7) & ~7))

    def wake_producer(self) -> None:
        self._space.notify()

    def lookup_bytes(self, key: bytes) -> bytes | None:
        raise MapError(f"lookup in map {self.name}: a user ring buffer has no elements "
                       "(write with ebpf.UserRingBuffer)", ENOTSUPP)

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        raise MapError(f"map {self.name}: a user ring buffer has no keys", ENOTSUPP)

    def _user_update(self, key: bytes, value: bytes, flags: int) -> int:
        return -ENOTSUPP


__all__ = ["UserRingBufMap"]
