"""A kernel map's memory shared with this process: the value area of a
``BPF_F_MMAPABLE`` array (``mmap.mmap``) and the pages of an ARENA map (mapped at
the address the kernel fixes, through libc's mmap for the address hint)."""

from __future__ import annotations

import ctypes
import functools
import logging
import mmap
import sys
from typing import Any

from ..._internal.libc import function
from ...errors import MapError

log = logging.getLogger("ebpf.kernel")

__all__ = ["ArenaMapping", "map_array"]

_MAP_FIXED = 0x10


class _MMap:
    """mmap/munmap with prototypes (arena mappings need an address hint)."""

    def __init__(self) -> None:
        self.mmap = function("mmap", ctypes.c_void_p, [ctypes.c_void_p, ctypes.c_size_t,
                                                       ctypes.c_int, ctypes.c_int, ctypes.c_int,
                                                       ctypes.c_long])
        self.munmap = function("munmap", ctypes.c_int, [ctypes.c_void_p, ctypes.c_size_t])


@functools.cache
def _libc() -> _MMap:
    return _MMap()


def map_array(fd: int, size: int, *, writable: bool, name: str) -> mmap.mmap:
    """Map ``size`` bytes (rounded up to pages) of an mmapable array's values."""
    size = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE * mmap.PAGESIZE
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    try:
        return mmap.mmap(fd, size, mmap.MAP_SHARED, prot)
    except OSError as e:
        raise MapError(f"mapping map {name} into memory", e.errno) from None


class ArenaMapping:
    """An ARENA map's ``length`` bytes mapped into this process (at ``hint`` when
    the map says where: its ``map_extra``). The kernel fixes the arena's user
    address at the first mmap, and a program using the arena loads only after it."""

    def __init__(self, fd: int, length: int, hint: int, name: str) -> None:
        libc = _libc()
        flags = mmap.MAP_SHARED | (_MAP_FIXED if hint else 0)
        addr = libc.mmap(ctypes.c_void_p(hint or None), ctypes.c_size_t(length),
                         mmap.PROT_READ | mmap.PROT_WRITE, flags, fd, ctypes.c_long(0))
        if addr in (None, ctypes.c_void_p(-1).value):
            err = ctypes.get_errno()
            raise MapError(f"mapping arena {name} ({length} bytes) into memory", err)
        self.name = name
        self.addr: int = addr
        self.length = length
        self._buf: Any = (ctypes.c_char * length).from_address(addr)

    def view(self) -> memoryview:
        """The whole arena as bytes (shared with the kernel and its programs)."""
        return memoryview(self._buf).cast("B")

    def unmap(self) -> None:
        """Release the pages; a view still alive afterwards reads zeros, not a fault."""
        buf, self._buf = self._buf, None
        if buf is None:
            return
        libc = _libc()
        if sys.getrefcount(buf) > 2:
            # a memoryview from .memory is still alive: lay private zero pages over
            # the range (the arena is released; stale views read zeros, not a fault)
            log.debug("arena %s: memory still referenced; replaced by anonymous pages", self.name)
            libc.mmap(ctypes.c_void_p(self.addr), ctypes.c_size_t(self.length),
                      mmap.PROT_READ | mmap.PROT_WRITE,
                      mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | _MAP_FIXED, -1, ctypes.c_long(0))
            return
        del buf
        libc.munmap(ctypes.c_void_p(self.addr), ctypes.c_size_t(self.length))
