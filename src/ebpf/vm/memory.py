"""The runtime's simulated 64-bit address space.

Pointers are plain ints. Every piece of memory a program may touch (its stack,
the context, the packet, map values, ring-buffer records, memory a helper hands
out) is a :class:`Region`: a base address, a size, and the ``bytearray`` behind
it. Each access looks the address up in a region table and checks the bounds, so
a bad pointer becomes a clear :class:`ebpf.RuntimeFault` instead of a crash.

Two tables are consulted, in order:

* the *run-local* regions of one program run (stack, context, packet, reserved
  ring-buffer records), at low addresses below 4 GiB so that 32-bit context
  fields such as ``xdp_md.data`` can hold real pointers, exactly as the kernel's
  context rewriting makes them behave;
* the *global* regions shared by every run (map values), at kernel-like high
  addresses, kept in a sorted table (copy-on-write, so lookups take no lock).

>>> from ebpf.vm.memory import Region, Memory
>>> mem = Memory()
>>> r = mem.add_local(Region(0x1000, bytearray(8), "demo"))
>>> mem.store(0x1004, 4, 0xdeadbeef); hex(mem.load(0x1004, 4))
'0xdeadbeef'
"""

from __future__ import annotations

import struct
import threading
import weakref
from bisect import bisect_right
from collections.abc import Callable, Iterable

from ..errors import RuntimeFault

M64 = (1 << 64) - 1

#: struct formats of unsigned loads/stores by size
UFMT = {1: struct.Struct("<B"), 2: struct.Struct("<H"), 4: struct.Struct("<I"), 8: struct.Struct("<Q")}

#: where run-local regions live (all below 4 GiB)
STACK_BASE = 0x0F00_0000
CTX_BASE = 0x1000_0000
PACKET_BASE = 0x2000_0000
SCRATCH_BASE = 0x4000_0000

#: where global regions (map values) are allocated
GLOBAL_BASE = 0xFFFF_8880_0000_0000
#: fake addresses standing for ``struct bpf_map *`` (from lddw of a map)
MAP_HANDLE_BASE = 0xFFFF_8881_0000_0000


class Region:
    """A range of simulated memory backed by ``buf[off:off+size]``.

    ``writable=False`` makes stores fault; ``on_write`` (``(offset, size) ->
    None``, raising RuntimeFault to refuse) guards partially writable regions
    such as contexts whose only some fields a program may set.
    """

    __slots__ = ("base", "buf", "size", "off", "name", "writable", "on_write", "end", "delta",
                 "owner", "elem")

    def __init__(self, base: int, buf: bytearray, name: str, *, size: int | None = None,
                 off: int = 0, writable: bool = True,
                 on_write: Callable[[int, int], None] | None = None,
                 owner: object = None, elem: Elements | None = None):
        self.base = base
        self.buf = buf
        self.size = len(buf) - off if size is None else size
        self.off = off
        self.name = name
        self.writable = writable
        self.on_write = on_write
        self.end = base + self.size
        #: buffer index = address - delta
        self.delta = base - off
        #: the map (or other object) the region belongs to: an address space
        #: reaches it only if it reaches its owner; None for shared stand-ins
        self.owner = owner
        #: element layout: each access must stay inside one live element
        self.elem = elem

    def __repr__(self) -> str:
        return f"<Region {self.name} {self.base:#x}+{self.size}>"


#: Elements.live states (one byte per element)
DEAD, LIVE, DELETED = 0, 1, 2


class Elements:
    """The layout of a region made of map elements: element ``i`` holds its
    value at ``[i * stride, i * stride + value_size)``; an access must fall
    inside one element's value (not its padding, not its neighbour). With
    ``live`` (one byte per element: :data:`DEAD`, :data:`LIVE`,
    :data:`DELETED`), only live elements, and those deleted while a program
    runs (the kernel's RCU grace period), can be reached."""

    __slots__ = ("stride", "value_size", "live")

    def __init__(self, stride: int, value_size: int, live: bytearray | None = None):
        self.stride = stride
        self.value_size = value_size
        self.live = live

    def check(self, off: int, size: int) -> int:
        """The element index holding ``[off, off+size)`` of the region, or -1."""
        i, o = divmod(off, self.stride)
        if o + size > self.value_size:
            return -1
        live = self.live
        if live is not None and not live[i]:
            return -1
        return i


class Memory:
    """The regions one program run can reach: its own plus the global ones of
    its address space (see :class:`AddressSpace`)."""

    __slots__ = ("local", "globals_", "__weakref__")

    def __init__(self, globals_: GlobalMemory | AddressSpace | None = None):
        self.local: list[Region] = []
        self.globals_: GlobalMemory | AddressSpace = globals_ if globals_ is not None else GLOBAL

    def add_local(self, region: Region) -> Region:
        self.local.append(region)
        return region

    def remove_local(self, region: Region) -> None:
        try:
            self.local.remove(region)
        except ValueError:
            pass

    def find(self, addr: int, size: int) -> Region | None:
        """The region holding ``[addr, addr+size)``, or None."""
        for r in self.local:
            if r.base <= addr and addr + size <= r.end:
                return r
        g = self.globals_.find(addr, size)
        if g is not None and g.elem is not None and g.elem.check(addr - g.base, size) < 0:
            return None
        return g

    def region(self, addr: int, size: int, pc: int | None = None, what: str = "access",
               write: bool = False) -> Region:
        """Like :meth:`find` but faults with a message naming the address."""
        r = self.find(addr, size)
        if r is None:
            raise RuntimeFault(f"invalid memory {what} of {size} bytes at {addr:#x}: "
                               f"{self.describe(addr)}", pc)
        if write:
            if not r.writable:
                raise RuntimeFault(f"write of {size} bytes to read-only {r.name} at {addr:#x}", pc)
            if r.on_write is not None:
                r.on_write(addr - r.base, size)
        return r

    def describe(self, addr: int) -> str:
        """Say where an address is relative to the nearest region (for faults)."""
        space = self.globals_
        if isinstance(space, AddressSpace) and space.parent.find(addr, 1) is not None \
                and space.find(addr, 1) is None:
            return "memory of another object, not in this program's address space"
        best = None
        for r in [*self.local, *self.globals_.regions]:
            if r.base <= addr < r.end:
                if r.elem is not None:
                    i, o = divmod(addr - r.base, r.elem.stride)
                    if r.elem.live is not None and not r.elem.live[i]:
                        return f"element {i} of {r.name} is not in the map (deleted or never added)"
                    if o >= r.elem.value_size:
                        return (f"the padding after element {i} of {r.name} "
                                f"(values of {r.elem.value_size} bytes)")
                    return (f"crosses the end of element {i} of {r.name} "
                            f"(values of {r.elem.value_size} bytes)")
                return f"crosses the end of {r.name} ({r.base:#x}+{r.size})"
            dist = addr - r.end if addr >= r.end else r.base - addr
            if best is None or dist < best[0]:
                best = (dist, r)
        if addr == 0:
            return "null pointer"
        if best is None or best[0] >= 1 << 32:
            return "no memory of this program's address space there"
        dist, r = best
        side = "past the end of" if addr >= r.end else "before"
        return f"{dist} bytes {side} {r.name} ({r.base:#x}+{r.size})"

    # ---- the translator's one-entry caches ---------------------------------------
    def rcache(self, addr: int, size: int, pc: int | None = None) -> tuple:
        """(buf, lo, hi, delta) of the region to read ``[addr, addr+size)`` from."""
        r = self.region(addr, size, pc, "read")
        if r.elem is not None:
            return (r.buf, *_element_bounds(r, addr), r.delta)
        return r.buf, r.base, r.end, r.delta

    def probe_rcache(self, addr: int, size: int) -> tuple | None:
        """Like :meth:`rcache`, but None instead of a fault (PROBE_MEM loads)."""
        r = self.find(addr, size)
        if r is None:
            return None
        if r.elem is not None:
            return (r.buf, *_element_bounds(r, addr), r.delta)
        return r.buf, r.base, r.end, r.delta

    def wcache(self, addr: int, size: int, pc: int | None = None) -> tuple:
        """Like :meth:`rcache` for a write; regions whose writes need checking are
        returned with an empty range so the next write checks again."""
        r = self.region(addr, size, pc, "write", write=True)
        if r.on_write is not None:
            return r.buf, 0, 0, r.delta
        if r.elem is not None:
            return (r.buf, *_element_bounds(r, addr), r.delta)
        return r.buf, r.base, r.end, r.delta

    # ---- convenience accessors (helpers, contexts, the reference interpreter) ---
    def load(self, addr: int, size: int, pc: int | None = None) -> int:
        r = self.region(addr, size, pc, "read")
        return UFMT[size].unpack_from(r.buf, addr - r.delta)[0]

    def store(self, addr: int, size: int, value: int, pc: int | None = None) -> None:
        r = self.region(addr, size, pc, "write", write=True)
        UFMT[size].pack_into(r.buf, addr - r.delta, value & ((1 << (size * 8)) - 1))

    def read(self, addr: int, size: int, pc: int | None = None) -> bytes:
        if size == 0:
            return b""
        r = self.region(addr, size, pc, "read")
        i = addr - r.delta
        return bytes(r.buf[i:i + size])

    def write(self, addr: int, data: bytes, pc: int | None = None) -> None:
        if not data:
            return
        r = self.region(addr, len(data), pc, "write", write=True)
        i = addr - r.delta
        r.buf[i:i + len(data)] = data

    def zero(self, addr: int, size: int, pc: int | None = None) -> None:
        """Zero ``size`` bytes (the bounds are checked before anything is made)."""
        if size <= 0:
            return
        r = self.region(addr, size, pc, "write", write=True)
        i = addr - r.delta
        r.buf[i:i + size] = bytes(size)

    def read_str(self, addr: int, limit: int, pc: int | None = None) -> bytes:
        """A NUL-terminated string of at most ``limit`` bytes (without the NUL)."""
        r = self.region(addr, 1, pc, "read")
        i = addr - r.delta
        end = min(i + limit, r.end - r.delta)
        chunk = bytes(r.buf[i:end])
        nul = chunk.find(b"\0")
        return chunk if nul < 0 else chunk[:nul]


def _element_bounds(r: Region, addr: int) -> tuple[int, int]:
    """[lo, hi) of the value of the element of ``r`` holding ``addr``."""
    e = r.elem
    assert e is not None
    lo = addr - (addr - r.base) % e.stride
    return lo, lo + e.value_size


#: a sorted table of regions: (their bases, the regions)
Table = tuple[tuple[int, ...], tuple[Region, ...]]


def find_in(table: Table, addr: int, size: int) -> Region | None:
    """The region of ``table`` holding ``size`` bytes at ``addr``, or None."""
    bases, regions = table
    i = bisect_right(bases, addr) - 1
    if i < 0:
        return None
    r = regions[i]
    return r if addr + size <= r.end else None


class GlobalMemory:
    """Regions shared by every run (map values), at high addresses.

    Allocation is thread-safe; lookups read an immutable snapshot of the table.
    Regions retired while programs run are unmapped once no run is active, so a
    program that deletes an element it still points to (legal under the kernel's
    RCU rules) keeps working until it returns.
    """

    def __init__(self, base: int = GLOBAL_BASE):
        self._lock = threading.Lock()
        self._start = self._next = base
        #: (bases, regions), replaced as a whole so readers see a consistent pair
        self._table: Table = ((), ())
        self._active = 0
        self._pending: list[Region] = []
        #: elements deleted while programs ran: (live bytes, index)
        self._deleted: list[tuple[bytearray, int]] = []

    def allocate(self, buf: bytearray, name: str, *, size: int | None = None, off: int = 0,
                 writable: bool = True, owner: object = None,
                 elem: Elements | None = None) -> Region:
        """Map ``buf`` at a fresh address (8-byte aligned, a guard gap after it)
        for ``owner`` (see :class:`AddressSpace`)."""
        n = len(buf) - off if size is None else size
        with self._lock:
            base = self._next
            self._next = (base + n + 64 + 4095) & ~4095
            region = Region(base, buf, name, size=n, off=off, writable=writable, owner=owner,
                            elem=elem)
            # allocated addresses only grow and sit above fixed mappings (arenas,
            # below where allocation starts), so appending keeps the table sorted
            bases, regions = self._table
            self._table = ((*bases, base), (*regions, region))
        return region

    def map_at(self, base: int, buf, name: str, owner: object = None) -> Region | None:
        """Map ``buf`` (any writable buffer) at the fixed address ``base``; None
        when the range overlaps a region already mapped (an ARENA at its user
        address)."""
        n = len(buf)
        with self._lock:
            bases, regions = self._table
            i = bisect_right(bases, base)
            if (i and regions[i - 1].end > base) or (i < len(bases) and bases[i] < base + n) \
                    or base + n > self._start:
                return None
            region = Region(base, buf, name, size=n, owner=owner)
            self._table = ((*bases[:i], base, *bases[i:]), (*regions[:i], region, *regions[i:]))
        return region

    def free(self, *regions: Region) -> None:
        """Unmap ``regions`` (once no run is active), the table rebuilt once."""
        with self._lock:
            if self._active:
                self._pending.extend(regions)
                return
            self._drop(list(regions))

    def _drop(self, regions: list[Region]) -> None:
        dead = {id(r) for r in regions}
        keep = tuple(r for r in self._table[1] if id(r) not in dead)
        self._table = (tuple(r.base for r in keep), keep)

    @property
    def regions(self) -> tuple[Region, ...]:
        return self._table[1]

    def retire(self, live: bytearray, index: int) -> None:
        """Element ``index`` was deleted: unreachable at once, or, while
        programs run (one may still hold a pointer to it), once none does."""
        with self._lock:
            if self._active:
                live[index] = DELETED
                self._deleted.append((live, index))
            else:
                live[index] = DEAD

    def enter(self) -> None:
        with self._lock:
            self._active += 1

    def leave(self) -> None:
        with self._lock:
            self._active -= 1
            if not self._active:
                if self._pending:
                    pending, self._pending = self._pending, []
                    self._drop(pending)
                if self._deleted:
                    for live, i in self._deleted:
                        if live[i] == DELETED:  # not reused meanwhile
                            live[i] = DEAD
                    self._deleted.clear()

    def reaches(self, owner: object) -> bool:
        """The process-wide table reaches everything."""
        return True

    def find(self, addr: int, size: int) -> Region | None:
        return find_in(self._table, addr, size)


#: the process-wide table of global regions
GLOBAL = GlobalMemory()


#: bumped whenever what a map references changes (a program array's programs,
#: a map-in-map's inner maps): address spaces recompute what they reach
_LINKS = [0]


def links_changed() -> None:
    """Say that a program array or map-in-map changed its contents."""
    _LINKS[0] += 1


class AddressSpace:
    """The global regions one program can reach: those of the maps it was
    loaded with (its object's), of the maps stored in those (map-in-map), of the
    programs its program arrays hold (tail calls) and their maps, and the shared
    read-only stand-ins no object owns. Any other address, including another
    object's map values or map pointer, faults as unmapped memory. It reads like
    a :class:`GlobalMemory` (``find``, ``regions``) and filters that table.

    Owners say what they reach: ``space_owners()`` (a program: its maps) and
    ``reachable_values()`` (a program array: its programs; a map-in-map: its
    inner maps)."""

    def __init__(self, roots: Iterable[object] = (), parent: GlobalMemory = GLOBAL):
        self.parent = parent
        self._roots = list(roots)
        #: id -> owner, the closure of the roots
        self._owners: dict[int, object] = {}
        self._key: object = None
        self._links = -1
        self._view: Table = ((), ())

    def _closure(self) -> dict[int, object]:
        owners: dict[int, object] = {}
        todo = list(self._roots)
        while todo:
            o = todo.pop()
            if id(o) in owners:
                continue
            owners[id(o)] = o
            todo.extend(getattr(o, "space_owners", tuple)())
            todo.extend(getattr(o, "reachable_values", tuple)())
        return owners

    def _refresh(self) -> Table:
        table = self.parent._table
        if table is not self._key or self._links != _LINKS[0]:
            if self._links != _LINKS[0]:
                self._links = _LINKS[0]
                self._owners = self._closure()
            owners = self._owners
            regions = tuple(r for r in table[1] if r.owner is None or id(r.owner) in owners)
            self._view = (tuple(r.base for r in regions), regions)
            self._key = table
        return self._view

    def reaches(self, owner: object) -> bool:
        """Whether ``owner`` (a map, a program) is reachable."""
        self._refresh()
        return id(owner) in self._owners

    @property
    def _table(self) -> Table:
        return self._refresh()

    @property
    def regions(self) -> tuple[Region, ...]:
        return self._refresh()[1]

    def find(self, addr: int, size: int) -> Region | None:
        return find_in(self._refresh(), addr, size)


class Handles:
    """Fake kernel pointers for objects a program refers to by address
    (``struct bpf_map *`` from ``lddw rX, map``, callback functions...)."""

    def __init__(self, base: int = MAP_HANDLE_BASE):
        self._lock = threading.Lock()
        self._next = base
        # weak: a loaded program keeps the maps it uses alive itself
        self._objects: weakref.WeakValueDictionary[int, object] = weakref.WeakValueDictionary()

    def register(self, obj: object) -> int:
        with self._lock:
            addr = self._next
            self._next += 0x1000
            self._objects[addr] = obj
            return addr

    def unregister(self, addr: int) -> None:
        with self._lock:
            self._objects.pop(addr, None)

    def get(self, addr: int) -> object | None:
        return self._objects.get(addr)


#: process-wide handles of live VM maps
MAP_HANDLES = Handles()
