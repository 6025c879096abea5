"""ARENA: memory shared by programs and user space, in pages
(``bpf_arena_alloc_pages``/``bpf_arena_free_pages``, ``__arena`` globals).

The arena is ``max_entries`` pages at one user address (``map_extra`` when the
map gives one, else an address the runtime picks, ending on a 4 GiB boundary),
never across a 4 GiB boundary, as the kernel's. It is one anonymous mapping, so untouched pages
cost nothing. Programs reach it through ``__arena`` pointers: both
``addr_space_cast`` directions give the full user address here (the kernel's JIT
reaches the same page through its own kernel mapping), so a pointer a program
stores in the arena is the one user space reads.

Pages are handed out as the kernel's allocator does: the smallest free range that
fits (lowest address among equals), or exactly the page asked for, which must be
free; freeing zeroes them. The object's ``__arena`` globals sit in the last pages
(libbpf's layout) from ``arena_data_offset`` on; those pages count as allocated.
What the runtime cannot see: user space touching an unallocated page through
:attr:`ArenaMap.memory` (the kernel allocates it then), and a program's stores to
pages it never allocated, which the kernel drops and the runtime keeps.
"""

from __future__ import annotations

import errno
import itertools
import mmap
import os

from ...errors import LoadError, MapError
from ...spec import MapSpec
from ..memory import GLOBAL, M64
from .base import VMMap

PAGE = mmap.PAGESIZE
M32 = 0xFFFF_FFFF
BPF_F_MMAPABLE = 1 << 10
BPF_F_SEGV_ON_FAULT = 1 << 17
BPF_F_NO_USER_CONV = 1 << 18
#: where the runtime places arenas without map_extra (one 4 GiB slot each)
ARENA_AREA = 0x1000_0000_0000
_slots = itertools.count()


def _online_nodes() -> int:
    try:
        return len([d for d in os.listdir("/sys/devices/system/node") if d.startswith("node")])
    except OSError:
        return 1


class ArenaMap(VMMap):
    """ARENA: ``max_entries`` pages at ``user_vm_start``; no elements (key 0
    reads and writes the object's ``__arena`` globals, as the kernel backend's)."""

    def __init__(self, spec: MapSpec):
        what = f"creating map {spec.name!r} (ARENA)"
        if (spec.key_size or spec.value_size or spec.max_entries <= 0
                or not spec.flags & BPF_F_MMAPABLE
                or spec.flags & ~(BPF_F_SEGV_ON_FAULT | BPF_F_MMAPABLE | BPF_F_NO_USER_CONV)):
            raise LoadError(f"{what}: key_size and value_size must be 0, max_entries positive, "
                            "BPF_F_MMAPABLE set and no other flag but SEGV_ON_FAULT/NO_USER_CONV",
                            errno.EINVAL)
        extra = spec.map_extra
        size = spec.max_entries * PAGE
        if extra % PAGE:
            raise LoadError(f"{what}: map_extra {extra:#x} is not page aligned", errno.EINVAL)
        if size > 1 << 32:
            raise LoadError(f"{what}: {spec.max_entries} pages is more than 4 GiB", errno.E2BIG)
        if extra >= 1 << 63:
            raise LoadError(f"{what}: map_extra {extra:#x} is not a user address", errno.EINVAL)
        if extra >> 32 != (extra + size - 1) >> 32:
            raise LoadError(f"{what}: [{extra:#x}, +{size:#x}) crosses a 4 GiB boundary",
                            errno.ERANGE)
        super().__init__(spec)
        self.size = size
        self.pages = spec.max_entries
        self.buf = mmap.mmap(-1, size, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
                             | getattr(mmap, "MAP_NORESERVE", 0))
        region = None
        while region is None:
            # at the top of a 4 GiB slot: the first page's low 32 bits are not 0 (that
            # would read as NULL after a cast), as with the addresses mmap gives
            base = extra or ARENA_AREA + (next(_slots) + 1 << 32) - size
            region = GLOBAL.map_at(base, self.buf, f"arena {self.name}", owner=self)
            if region is None and extra:
                self.buf.close()
                raise MapError(f"{what}: address {extra:#x} is taken by another arena",
                               errno.EBUSY)
        self.region = region
        self.user_vm_start = region.base
        #: free page ranges [start, end), sorted by start (the kernel's range tree)
        self._free: list[list[int]] = [[0, self.pages]]
        #: where the object's __arena globals start in the arena (0 without globals)
        self.arena_data_offset = 0
        if spec.data:
            need = -(-len(spec.data) // PAGE) * PAGE
            if need > size:
                self.close()
                raise MapError(f"arena {self.name}: its globals need {need} bytes, the arena "
                               f"has {size} ({self.pages} pages)")
            self.arena_data_offset = size - need
            self.buf[self.arena_data_offset:self.arena_data_offset + len(spec.data)] = \
                bytes(spec.data)
            self._take(self.arena_data_offset // PAGE, need // PAGE)

    def _release(self) -> None:
        GLOBAL.free(self.region)
        # the region may still be read by a run in flight: the mapping stays until
        # no view of it is left (closing it under a live memoryview raises)
        try:
            self.buf.close()
        except BufferError:
            pass

    @property
    def memory(self) -> memoryview:
        """The whole arena (``max_entries`` pages), shared with programs."""
        return memoryview(self.buf)

    @property
    def hi(self) -> int:
        """The upper 32 bits of the arena's addresses (what casts put back)."""
        return self.user_vm_start >> 32

    # ---- the page allocator -----------------------------------------------------
    def _is_free(self, start: int, count: int) -> bool:
        return any(s <= start and start + count <= e for s, e in self._free)

    def _take(self, start: int, count: int) -> None:
        out: list[list[int]] = []
        for s, e in self._free:
            if e <= start or s >= start + count:
                out.append([s, e])
                continue
            if s < start:
                out.append([s, start])
            if start + count < e:
                out.append([start + count, e])
        self._free = out

    def _give(self, start: int, count: int) -> None:
        ranges = sorted([*self._free, [start, start + count]])
        merged: list[list[int]] = []
        for s, e in ranges:
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], e)
            else:
                merged.append([s, e])
        self._free = merged

    def _pgoff(self, uaddr: int) -> int:
        return ((uaddr - (self.user_vm_start & M32)) & M32) // PAGE

    def alloc_pages(self, uaddr: int, count: int, node: int, flags: int) -> int:
        """bpf_arena_alloc_pages: the user address of ``count`` new zeroed pages, or 0."""
        if flags or not count or count > self.pages:
            return 0
        if node != -1 and not 0 <= node < _online_nodes():
            return 0
        with self._lock:
            if uaddr:
                if uaddr % PAGE:
                    return 0
                pgoff = self._pgoff(uaddr)
                if pgoff > self.pages - count or not self._is_free(pgoff, count):
                    return 0
            else:
                fits = [(e - s, s) for s, e in self._free if e - s >= count]
                if not fits:
                    return 0
                pgoff = min(fits)[1]
            self._take(pgoff, count)
        return (self.user_vm_start & ~M32) + ((self.user_vm_start + pgoff * PAGE) & M32)

    def free_pages(self, uaddr: int, count: int) -> None:
        """bpf_arena_free_pages: give back (and zero) the pages from ``uaddr`` on."""
        if not count or not uaddr:
            return
        uaddr = uaddr & M32 & ~(PAGE - 1)
        full = (self.user_vm_start & ~M32) + uaddr
        end = min(self.user_vm_start + self.size, full + count * PAGE)
        if full >= end or full < self.user_vm_start:
            return
        count = (end - full) // PAGE
        pgoff = self._pgoff(uaddr)
        with self._lock:
            self._give(pgoff, count)
            off = pgoff * PAGE
            self.buf[off:off + count * PAGE] = bytes(count * PAGE)

    def reserve_pages(self, uaddr: int, count: int) -> int:
        """bpf_arena_reserve_pages: keep pages from being allocated (0 or -errno)."""
        if not count:
            return 0
        if uaddr % PAGE:
            return -errno.EINVAL
        pgoff = self._pgoff(uaddr)
        with self._lock:
            if pgoff + count > self.pages:
                return -errno.EINVAL
            if not self._is_free(pgoff, count):
                return -errno.EBUSY
            self._take(pgoff, count)
        return 0

    # ---- user side: key 0 is the globals window ---------------------------------
    def _globals_key(self, key: bytes) -> None:
        if bytes(key) != b"\0\0\0\0":
            raise MapError(f"map {self.name}: an ARENA map has no elements (use .memory)",
                           errno.EINVAL)

    def lookup_bytes(self, key: bytes) -> bytes | None:
        self._globals_key(key)
        return bytes(self.buf[self.arena_data_offset:])

    def update_bytes(self, key: bytes, value: bytes, flags: int = 0) -> None:
        self._globals_key(key)
        self.buf[self.arena_data_offset:self.arena_data_offset + len(value)] = bytes(value)

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        return None

    def address(self, offset: int) -> int:
        """The user address of byte ``offset`` of the arena."""
        return (self.user_vm_start + offset) & M64


__all__ = ["ArenaMap"]
