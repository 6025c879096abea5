"""RINGBUF: records programs reserve and submit in the ring's own memory, read by
:class:`ebpf.RingBuffer`.

The ring is laid out as the kernel's: a consumer position, a producer
position, and a data area of ``max_entries`` bytes where each record is an
8-byte header (u32 length with bit 31 BUSY and bit 30 DISCARD, u32 page
offset, 0 here) and its data, 8-byte aligned. A program writes a record where
it will be read: the data area is one region of the runtime's memory (twice
``max_entries`` long, so that a record that wraps is one contiguous slice, as
the kernel's double mapping makes it), and the consumer copies records out of
it. Positions and space are counted as the kernel does: a reservation fails
when the producer would get a whole buffer ahead of the consumer; discarded
records keep their space until the consumer passes them; readers stop at a
record still reserved.

Producers may be Python (the helpers) and generated code (the native
executor) at once, on several threads: they serialise on a spin lock word next
to the positions (:attr:`RingBufMap.ctl`); Python takes it through the
functions the native executor installs in :attr:`RingBufMap.spin` (until then
no generated code writes the ring, and the map's own lock is enough).
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

from ...spec import MapSpec
from ...uapi.consts import BPF_RB_FORCE_WAKEUP as BPF_RB_FORCE_WAKEUP
from ...uapi.consts import (
    BPF_RB_NO_WAKEUP,
    BPF_RINGBUF_BUSY_BIT,
    BPF_RINGBUF_DISCARD_BIT,
    BPF_RINGBUF_HDR_SZ,
)
from ..memory import GLOBAL
from .base import _round8
from .records import _RecordMap

RB_HDR = BPF_RINGBUF_HDR_SZ
BUSY_BIT = BPF_RINGBUF_BUSY_BIT
DISCARD_BIT = BPF_RINGBUF_DISCARD_BIT
#: words of :attr:`RingBufMap.ctl`
CONS, PROD, LOCK = 0, 1, 2
CTL_WORDS = 4

_U32 = struct.Struct("<I")


class RingBufMap(_RecordMap):
    """RINGBUF (see the module's description)."""

    def __init__(self, spec: MapSpec):
        super().__init__(spec)
        self.size = max(1, spec.max_entries)
        #: consumer position, producer position, producers' spin lock
        self.ctl = (ctypes.c_uint64 * CTL_WORDS)()
        self.data = bytearray(2 * self.size)
        self.region = GLOBAL.allocate(self.data, f"ringbuf {self.name} data", owner=self)
        #: (lock, unlock) of ``ctl[LOCK]`` once generated code may produce too
        self.spin: tuple[Callable[[int], Any], Callable[[int], Any]] | None = None

    def _release(self) -> None:
        GLOBAL.free(self.region)
        super()._release()

    @property
    def cons_pos(self) -> int:
        return self.ctl[CONS]

    @property
    def prod_pos(self) -> int:
        return self.ctl[PROD]

    @staticmethod
    def cost(size: int) -> int:
        return RB_HDR + _round8(size)

    @contextmanager
    def _producing(self):
        with self._lock:
            spin = self.spin
            if spin is None:
                yield
                return
            addr = ctypes.addressof(self.ctl) + 8 * LOCK
            spin[0](addr)
            try:
                yield
            finally:
                spin[1](addr)

    def record_address(self, pos: int) -> int:
        """Where the data of the record at position ``pos`` is, for the program."""
        return self.region.base + pos % self.size + RB_HDR

    def reserve(self, size: int) -> int | None:
        """Reserve a record of ``size`` bytes: its position, or None when the
        ring has no room."""
        c = self.cost(size)
        with self._producing():
            cons, prod = self.ctl[CONS], self.ctl[PROD]
            if c > self.size or prod + c - cons > self.size - 1:
                return None
            off = prod % self.size
            _U32.pack_into(self.data, off, (size & 0xFFFF_FFFF) | BUSY_BIT)
            _U32.pack_into(self.data, off + 4, 0)
            self.ctl[PROD] = prod + c
            return prod

    def commit(self, pos: int, submit: Any, flags: int) -> None:
        """Submit (``submit`` true) or discard a reserved record."""
        off = pos % self.size
        length = _U32.unpack_from(self.data, off)[0] & ~(BUSY_BIT | DISCARD_BIT)
        _U32.pack_into(self.data, off, length | (0 if submit else DISCARD_BIT))
        if submit and not flags & BPF_RB_NO_WAKEUP:
            self._wake()

    def output(self, payload: bytes, flags: int) -> bool:
        """bpf_ringbuf_output: a record holding ``payload`` (False: no room)."""
        pos = self.reserve(len(payload))
        if pos is None:
            return False
        off = pos % self.size + RB_HDR
        self.data[off:off + len(payload)] = payload
        self.commit(pos, True, flags)
        return True

    def _scan(self, consume: bool) -> list[bytes] | bool:
        with self._lock:
            cons, prod = self.ctl[CONS], self.ctl[PROD]
            out = []
            while cons < prod:
                off = cons % self.size
                hdr = _U32.unpack_from(self.data, off)[0]
                if hdr & BUSY_BIT:
                    break
                length = hdr & ~(BUSY_BIT | DISCARD_BIT)
                if not hdr & DISCARD_BIT:
                    if not consume:
                        return True
                    out.append(bytes(self.data[off + RB_HDR:off + RB_HDR + length]))
                cons += self.cost(length)
            if not consume:
                return False
            self.ctl[CONS] = cons
            return out

    def pending(self) -> bool:
        return bool(self._scan(False))

    def take(self) -> list[bytes]:
        out = self._scan(True)
        assert isinstance(out, list)
        return out

    def avail_data(self) -> int:
        return self.ctl[PROD] - self.ctl[CONS]
