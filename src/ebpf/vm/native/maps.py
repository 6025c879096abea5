"""Maps generated code works on itself: arrays, per-CPU arrays, and hash maps
(plain, per-CPU, LRU) through a native index kept in step with the map.

:func:`describe` looks at the maps a program references (``lddw rX, map``) and
says which ones generated code may look up (and update in place) without
calling Python:

* ``ARRAY`` / ``PERCPU_ARRAY``: a bounds check on the index, then the value's
  address in the map's (per-CPU) value region;
* ``HASH``, ``PERCPU_HASH``, ``LRU_HASH``, ``LRU_PERCPU_HASH``: a
  :class:`NativeIndex`, an open-addressing table in native memory mapping key
  bytes to the value's addresses (one per CPU), updated by the map's own key
  dictionary whenever an element is added or removed (whatever adds it: a
  program, Python, another thread). A native lookup in an LRU map sets the
  entry's reference word; the map's eviction gives referenced keys a second
  chance (:class:`IndexedEntries`), so what generated code uses is not evicted
  first.

Every such map has a :class:`MapHeader` (native words generated code reads
before touching the map: :data:`~.layout.MAP_LIVE`); closing the map clears
it and empties the index, so a program still holding the map takes the Python
helper, which faults (``map ... is closed``), instead of reading freed
memory. Headers and indexes live as long as any compiled code naming them
(:attr:`~.engine.Compiled.keep`).

The hash is :func:`key_hash`; generated code computes the same one.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ...errors import Error
from ..maps.hashes import SLAB_ENTRIES
from ..memory import DEAD, MAP_HANDLES
from . import layout as L

M64 = (1 << 64) - 1
#: the multiplier of :func:`key_hash`
MIX = 0x9E37_79B9_7F4A_7C15
#: hash maps larger than this keep the Python lookup
MAX_NATIVE_HASH = 1 << 16
TAG_EMPTY = 0
TAG_DEAD = 1


def key_hash(key: bytes) -> int:
    """The 64-bit hash of a key: 8-byte little-endian words (the last one
    zero-padded) folded by xor-multiply, then an xor-shift; never 0 or 1 (those
    tags mark empty and deleted entries)."""
    h = len(key)
    for i in range(0, len(key), 8):
        w = int.from_bytes(key[i:i + 8], "little")
        h = ((h ^ w) * MIX) & M64
    h ^= h >> 29
    return h | 2


def host_address(buf: bytearray) -> int:
    """Address of the first byte of ``buf`` (valid while it is not resized)."""
    view = (ctypes.c_char * 0).from_buffer(buf)
    return ctypes.addressof(view)


class MapHeader:
    """The native words of one map generated code reads (:data:`~.layout.MAP_WORDS`)."""

    def __init__(self, m: Any) -> None:
        self.words = (ctypes.c_uint64 * L.MAP_WORDS)()
        self.address = ctypes.addressof(self.words)
        self.words[L.MAP_LIVE] = 0 if m._closed else 1
        self.index: NativeIndex | None = None
        self.table: ProgTable | None = None
        self.keep: Any = None
        m._close_hooks.append(self.closed)

    def closed(self) -> None:
        """The map is closed: generated code stops using it (then the index empties)."""
        self.words[L.MAP_LIVE] = 0
        if self.index is not None:
            self.index.lock()
            try:
                self.index.clear()
            finally:
                self.index.unlock()


@dataclass
class ArrayInfo:
    header: MapHeader
    bases: list[int]  # value region base per CPU (one for a plain array)
    hosts: list[int]  # host address of each
    max_entries: int
    stride: int
    value_size: int
    #: generated code may update values in place (not BPF_F_RDONLY_PROG)
    writable: bool


@dataclass
class HashInfo:
    header: MapHeader
    index: NativeIndex
    key_size: int
    value_size: int
    lru: bool
    writable: bool
    max_entries: int
    stride: int


@dataclass
class ProgInfo:
    header: MapHeader
    table: ProgTable


class ProgTable:
    """A program array as generated code sees it: per slot, the address of
    the program's native entry (``@e0``; 0 for an empty slot, 1 for a program
    that does not run natively: the Python helper tail-calls it) and its ref
    id (for the trampoline's ``Run.program``). Follows the map's changes."""

    NOT_NATIVE = 1

    def __init__(self, m: Any) -> None:
        n = max(1, m.max_entries)
        self.entries = (ctypes.c_uint64 * n)()
        self.ids = (ctypes.c_uint64 * n)()
        self.address = ctypes.addressof(self.entries)
        self.ids_address = ctypes.addressof(self.ids)
        self.max_entries = m.max_entries
        #: the compiled code each slot points into (kept alive with the table)
        self.code: dict[int, Any] = {}
        self._map = m
        m._change_hooks.append(self.changed)
        for i in range(m.max_entries):
            if m.slots[i] is not None:
                self.changed(i)

    def changed(self, i: int) -> None:
        from ..maps.base import ref_id

        prog = self._map.slots[i]
        addr, pid, comp = 0, 0, None
        if prog is not None:
            pid = ref_id(prog)
            addr = self.NOT_NATIVE
            # programs compile at load; one not compiled yet (or compiling
            # now, as a program whose array holds itself) is tail-called by Python
            if prog.executor_name == "native":
                entry = prog.executor._compiled.get(id(prog.code))
                if entry is not None and entry[0] is prog.code:
                    comp = entry[1]
                    addr = comp.addresses.get(0, self.NOT_NATIVE)
        self.ids[i] = pid
        self.code[i] = comp
        self.entries[i] = addr


@dataclass
class RingInfo:
    header: MapHeader
    #: host addresses of the ring's positions (and lock) and of its data area
    ctl: int
    data: int
    #: the data area's simulated address and the ring's size
    base: int
    size: int


#: key dictionaries of the hash maps generated code writes (their journals are
#: replayed after a run)
INDEXED_MAPS: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
#: rings generated code produces into (their consumers are woken after a run)
RINGS: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()


def _ring(m: Any, hdr: MapHeader) -> RingInfo:
    from .engine import support

    with m._lock:
        if m.spin is None:
            m.spin = support()
        RINGS[m.handle] = m
    hdr.keep = (m.ctl, m.data)  # the code may hold addresses in them past a close
    return RingInfo(hdr, ctypes.addressof(m.ctl), host_address(m.data), m.region.base, m.size)


class NativeIndex:
    """An open-addressing table: entries of ``[tag, referenced, slot, value
    address per CPU..., host address per CPU..., key words...]`` (8-byte
    words), capacity a power of two at least twice ``max_entries``.

    Generated code inserts and deletes too. Its writers and Python's
    serialise on a spin lock (``ctl[LOCK]``); it takes new elements' slots
    from a stack of spare slots Python keeps filled (:attr:`spares`: ``[slot,
    value address per CPU..., host address per CPU...]``), and records what it
    did in a journal (:attr:`journal`: ``[op, slot, key words...]``) that the
    map's key dictionary replays before Python looks (:class:`IndexedEntries`).
    When the spares or the journal run out, or the table needs rebuilding,
    generated code leaves the operation to the Python helper."""

    #: word offsets in an entry
    TAG, REF, SLOT, LIVE, VALUES = 0, 1, 2, 3, 4
    #: words of :attr:`ctl`: spin lock, entries used (live + dead), live
    #: elements, journal records, spare slots
    LOCK, USED, COUNT, JOURNAL_N, SPARE_N = range(5)
    SPARE_CAP = 32
    JOURNAL_CAP = 64
    INSERT, DELETE = 1, 2

    def __init__(self, key_size: int, max_entries: int, ncpu: int = 1):
        from .engine import support

        self.key_size = key_size
        self.key_words = (key_size + 7) // 8
        self.ncpu = ncpu
        self.host = self.VALUES + ncpu
        self.key = self.host + ncpu
        self.entry_words = self.key + self.key_words
        cap = 16
        while cap < 2 * max_entries:
            cap *= 2
        self.cap = cap
        self.table = (ctypes.c_uint64 * (cap * self.entry_words))()
        self.address = ctypes.addressof(self.table)
        self.mask = cap - 1
        self.ctl = (ctypes.c_uint64 * 8)()
        self.ctl_address = ctypes.addressof(self.ctl)
        self.spare_words = 2 + 2 * ncpu
        self.spares = (ctypes.c_uint64 * (self.SPARE_CAP * self.spare_words))()
        self.spares_address = ctypes.addressof(self.spares)
        self.journal_words = 2 + self.key_words
        self.journal = (ctypes.c_uint64 * (self.JOURNAL_CAP * self.journal_words))()
        self.journal_address = ctypes.addressof(self.journal)
        self._spin = support()
        self._holder: int | None = None
        self._depth = 0

    # ---- the spin lock (Python's side; re-entrant for Python, whose
    # OrderedDict methods call the overridden ones of IndexedEntries) ----------------
    def lock(self) -> None:
        me = threading.get_ident()
        if self._holder == me:
            self._depth += 1
            return
        self._spin[0](self.ctl_address + 8 * self.LOCK)
        self._holder, self._depth = me, 1

    def unlock(self) -> None:
        self._depth -= 1
        if not self._depth:
            self._holder = None
            self._spin[1](self.ctl_address + 8 * self.LOCK)

    # ---- the table (callers hold the lock) -----------------------------------------
    def _words(self, key: bytes) -> list[int]:
        padded = key.ljust(self.key_words * 8, b"\0")
        return [int.from_bytes(padded[i:i + 8], "little") for i in range(0, len(padded), 8)]

    def _find(self, key: bytes) -> tuple[int, int]:
        """(entry index holding ``key`` or -1, first free index on its probe path)."""
        h = key_hash(key)
        words = self._words(key)
        t, ew, ko = self.table, self.entry_words, self.key
        i = h & self.mask
        free = -1
        for _ in range(self.cap):
            base = i * ew
            tag = t[base]
            if tag == TAG_EMPTY:
                return -1, free if free >= 0 else i
            if tag == TAG_DEAD:
                if free < 0:
                    free = i
            elif tag == h and list(t[base + ko:base + ew]) == words:
                return i, free
            i = (i + 1) & self.mask
        return -1, free

    def put(self, key: bytes, slot: int, live: int, addrs: list[int], hosts: list[int]) -> bool:
        """Map ``key`` to its slot, the host address of its element's live byte
        (:class:`ebpf.vm.memory.Elements`) and value addresses (simulated and
        host, per CPU); True if the key is new."""
        i, free = self._find(key)
        t, ew = self.table, self.entry_words
        new = i < 0
        if new:
            if free < 0 or self.ctl[self.USED] + 1 > self.cap * 3 // 4:
                self._rebuild()
                i, free = self._find(key)
            i = free
            base = i * ew
            if t[base] == TAG_EMPTY:
                self.ctl[self.USED] += 1
            for j, w in enumerate(self._words(key)):
                t[base + self.key + j] = w
            self.ctl[self.COUNT] += 1
        base = i * ew
        t[base + self.REF] = 0
        t[base + self.SLOT] = slot
        t[base + self.LIVE] = live
        for c in range(self.ncpu):
            t[base + self.VALUES + c] = addrs[c]
            t[base + self.host + c] = hosts[c]
        t[base] = key_hash(key)  # last: a concurrent reader sees a whole entry
        return new

    def remove(self, key: bytes) -> None:
        i, _ = self._find(key)
        if i >= 0:
            self.table[i * self.entry_words] = TAG_DEAD
            self.ctl[self.COUNT] -= 1

    def referenced(self, key: bytes) -> bool:
        """Whether generated code used ``key`` since the last call (which clears it)."""
        i, _ = self._find(key)
        if i < 0 or not self.table[i * self.entry_words + self.REF]:
            return False
        self.table[i * self.entry_words + self.REF] = 0
        return True

    def clear(self) -> None:
        ctypes.memset(self.table, 0, ctypes.sizeof(self.table))
        self.ctl[self.USED] = 0
        self.ctl[self.COUNT] = 0

    def _rebuild(self) -> None:
        """Drop deleted entries (in place)."""
        ew = self.entry_words
        live = []
        for i in range(self.cap):
            base = i * ew
            if self.table[base] > TAG_DEAD:
                live.append(list(self.table[base:base + ew]))
        ctypes.memset(self.table, 0, ctypes.sizeof(self.table))
        for entry in live:
            i = entry[0] & self.mask
            while self.table[i * ew] != TAG_EMPTY:
                i = (i + 1) & self.mask
            for j, w in enumerate(entry[1:], 1):
                self.table[i * ew + j] = w
            self.table[i * ew] = entry[0]
        self.ctl[self.USED] = len(live)

    def take_journal(self) -> list[tuple[int, int, bytes]]:
        """What generated code did since the last call: (op, slot, key)."""
        n = self.ctl[self.JOURNAL_N]
        jw, out = self.journal_words, []
        for r in range(n):
            rec = self.journal[r * jw:(r + 1) * jw]
            key = b"".join(w.to_bytes(8, "little") for w in rec[2:])[:self.key_size]
            out.append((rec[0], rec[1], key))
        self.ctl[self.JOURNAL_N] = 0
        return out

    def add_spare(self, slot: int, live: int, addrs: list[int], hosts: list[int]) -> None:
        n = self.ctl[self.SPARE_N]
        base = n * self.spare_words
        self.spares[base] = slot
        self.spares[base + 1] = live
        for c in range(self.ncpu):
            self.spares[base + 2 + c] = addrs[c]
            self.spares[base + 2 + self.ncpu + c] = hosts[c]
        self.ctl[self.SPARE_N] = n + 1


class IndexedEntries(OrderedDict):
    """A hash map's key -> slot dictionary that keeps a :class:`NativeIndex`
    in step, and replays the index's journal (what generated code inserted
    and deleted) before every use. In an LRU map, eviction
    (``popitem(last=False)``) skips, once, keys generated code looked up
    since they were last considered (the second-chance approximation of LRU
    order the native lookups allow)."""

    def attach(self, owner: Any, index: NativeIndex, items: Any) -> None:
        """Index ``items`` (the map's current key -> slot pairs), in order."""
        self._owner = owner
        self._index = index
        for k, slot in items:
            self[k] = slot

    def _addresses(self, slot: int) -> tuple[int, list[int], list[int]]:
        """(host address of the slot's live byte, value addresses, host addresses)."""
        o = self._owner
        addrs, hosts = [], []
        for c in range(self._index.ncpu):
            buf, off = o._view(slot, c)
            addrs.append(o._addr(slot, c))
            hosts.append(host_address(buf) + off)
        live = host_address(o.slab_live[slot // SLAB_ENTRIES]) + slot % SLAB_ENTRIES
        return live, addrs, hosts

    def _replay(self) -> None:
        """Under the index's lock: apply the journal, refill the spare slots."""
        idx = self._index
        for opn, slot, key in idx.take_journal():
            if opn == idx.INSERT:
                OrderedDict.__setitem__(self, key, slot)
            elif OrderedDict.pop(self, key, None) is not None:
                self._owner._free_slot(slot)  # its value unreachable (memory.Elements)
        while idx.ctl[idx.SPARE_N] < idx.SPARE_CAP and not self._owner._closed:
            try:
                slot = self._owner._new_slot()
            except Error:  # no memory for more (the runtime's caps): Python inserts
                break
            # not an element until generated code makes it one
            self._owner.slab_live[slot // SLAB_ENTRIES][slot % SLAB_ENTRIES] = DEAD
            idx.add_spare(slot, *self._addresses(slot))

    def catch_up(self) -> None:
        """Replay what generated code did, if anything (after a run)."""
        self._fresh()

    @contextmanager
    def _synced(self):
        idx = self._index
        idx.lock()
        try:
            self._replay()
            yield idx
        finally:
            idx.unlock()

    # reads: the journal replayed first if generated code wrote anything (a
    # native write after that check is one that happened after the read)
    def _fresh(self) -> None:
        idx = self._index
        if idx.ctl[idx.JOURNAL_N] or idx.ctl[idx.SPARE_N] < idx.SPARE_CAP:
            with self._synced():
                pass

    def get(self, key, default=None):
        self._fresh()
        return OrderedDict.get(self, key, default)

    def __getitem__(self, key):
        self._fresh()
        return OrderedDict.__getitem__(self, key)

    def __contains__(self, key) -> bool:
        self._fresh()
        return OrderedDict.__contains__(self, key)

    def __len__(self) -> int:
        self._fresh()
        return OrderedDict.__len__(self)

    def __iter__(self):
        self._fresh()
        return iter(list(OrderedDict.keys(self)))

    def keys(self):  # type: ignore[override]
        self._fresh()
        return list(OrderedDict.keys(self))

    def items(self):  # type: ignore[override]
        self._fresh()
        return list(OrderedDict.items(self))

    def values(self):  # type: ignore[override]
        self._fresh()
        return list(OrderedDict.values(self))

    # writes
    def __setitem__(self, key, slot) -> None:
        with self._synced() as idx:
            old = OrderedDict.get(self, key)
            if old is not None and old != slot:
                self._owner._free_slot(old)  # a native insert of the same key lost
            OrderedDict.__setitem__(self, key, slot)
            idx.put(key, slot, *self._addresses(slot))

    def __delitem__(self, key) -> None:
        with self._synced() as idx:
            OrderedDict.__delitem__(self, key)
            idx.remove(key)

    _missing = object()

    def pop(self, key, default=_missing):
        with self._synced() as idx:
            if OrderedDict.__contains__(self, key):
                value = OrderedDict.pop(self, key)
                idx.remove(key)
                return value
        if default is IndexedEntries._missing:
            raise KeyError(key)
        return default

    def move_to_end(self, key, last: bool = True) -> None:
        with self._synced():
            OrderedDict.move_to_end(self, key, last)

    def popitem(self, last: bool = True):
        with self._synced() as idx:
            if not last and self._owner.lru:
                for _ in range(OrderedDict.__len__(self)):
                    key = next(OrderedDict.__iter__(self))
                    if not idx.referenced(key):
                        break
                    OrderedDict.move_to_end(self, key)
            key, value = OrderedDict.popitem(self, last)
            idx.remove(key)
            return key, value

    def clear(self) -> None:
        with self._synced() as idx:
            OrderedDict.clear(self)
            idx.clear()

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args, **kw) -> None:
        for k, v in OrderedDict(*args, **kw).items():
            self[k] = v


_ATTACH_LOCK = threading.Lock()
#: map types whose lookups generated code does through a native index
INDEXED = ("HASH", "PERCPU_HASH", "LRU_HASH", "LRU_PERCPU_HASH")


def header(m: Any) -> MapHeader:
    """The map's native header (made once)."""
    with _ATTACH_LOCK:
        h = m.__dict__.get("_native_header")
        if h is None:
            h = m._native_header = MapHeader(m)
        return h


def _hash_index(m: Any, hdr: MapHeader) -> NativeIndex | None:
    from ..maps.hashes import HashMap

    if type(m) is not HashMap or m.type.name not in INDEXED or m.max_entries > MAX_NATIVE_HASH:
        return None
    with _ATTACH_LOCK:
        entries = m.entries
        if not isinstance(entries, IndexedEntries):
            with m._lock:
                new = IndexedEntries()
                new.attach(m, NativeIndex(m.key_size, m.max_entries, m.ncpu),
                           list(entries.items()))
                m.entries = new
                entries = new
        hdr.index = entries._index
        INDEXED_MAPS[m.handle] = m
        return entries._index


def _prog_table(m: Any, hdr: MapHeader) -> ProgTable:
    with _ATTACH_LOCK:
        if hdr.table is None:
            hdr.table = ProgTable(m)
        return hdr.table


Info = ArrayInfo | HashInfo | ProgInfo | RingInfo


def describe(slots: list[Any]) -> dict[int, Info]:
    """Native facts for every open map whose handle ``slots`` load with lddw."""
    from ...spec import BPF_F_RDONLY_PROG
    from ..maps.arrays import ArrayMap, ProgArrayMap
    from ..maps.ringbuf import RingBufMap

    out: dict[int, Info] = {}
    for ins in slots:
        if ins is None or ins.opcode != 0x18:
            continue
        handle = ins.imm & M64
        if handle in out:
            continue
        m: Any = MAP_HANDLES.get(handle)
        if m is None or m._closed:
            continue
        writable = not m.spec.flags & BPF_F_RDONLY_PROG
        if type(m) is ArrayMap:
            out[handle] = ArrayInfo(header(m), [r.base for r in m.regions],
                                    [host_address(b) for b in m.bufs], m.max_entries,
                                    m.stride, m.value_size, writable)
        elif type(m) is RingBufMap:
            out[handle] = _ring(m, header(m))
        elif type(m) is ProgArrayMap:
            hdr = header(m)
            out[handle] = ProgInfo(hdr, _prog_table(m, hdr))
        else:
            hdr = header(m)
            index = _hash_index(m, hdr)
            if index is not None:
                out[handle] = HashInfo(hdr, index, m.key_size, m.value_size, m.lru, writable,
                                       m.max_entries, m.stride)
    return out
