"""Map lookups generated code does itself: arrays, per-CPU arrays, and hash maps
through a native index kept in step with the map.

:func:`describe` looks at the maps a program references (``lddw rX, map``) and
says which ones generated code may look up without calling Python:

* ``ARRAY`` / ``PERCPU_ARRAY``: a bounds check on the index, then the value's
  address in the map's (per-CPU) value region;
* ``HASH`` (not LRU: a lookup there changes the eviction order; not per-CPU):
  a :class:`NativeIndex`, an open-addressing table in native memory mapping
  key bytes to the value's address, updated by the map's own key dictionary
  whenever an element is added or removed (whatever adds it: a program, Python,
  another thread).

The hash is :func:`key_hash`; generated code computes the same one.
"""

from __future__ import annotations

import ctypes
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..memory import MAP_HANDLES

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


@dataclass
class ArrayInfo:
    bases: list[int]  # value region base per CPU (one for a plain array)
    max_entries: int
    stride: int


@dataclass
class HashInfo:
    index: NativeIndex
    key_size: int


class NativeIndex:
    """An open-addressing table: entries of ``[tag, value address, key words...]``
    (8-byte words), capacity a power of two at least twice ``max_entries``;
    the header word pair ``[table address, mask]`` stays at one address."""

    def __init__(self, key_size: int, max_entries: int):
        self.key_words = (key_size + 7) // 8
        self.entry_words = 2 + self.key_words
        cap = 16
        while cap < 2 * max_entries:
            cap *= 2
        self.cap = cap
        self.table = (ctypes.c_uint64 * (cap * self.entry_words))()
        self.address = ctypes.addressof(self.table)
        self.mask = cap - 1
        self.used = 0  # live + dead entries
        self.lock = threading.Lock()

    def _words(self, key: bytes) -> list[int]:
        padded = key.ljust(self.key_words * 8, b"\0")
        return [int.from_bytes(padded[i:i + 8], "little") for i in range(0, len(padded), 8)]

    def _find(self, key: bytes) -> tuple[int, int]:
        """(entry index holding ``key`` or -1, first free index on its probe path)."""
        h = key_hash(key)
        words = self._words(key)
        t, ew = self.table, self.entry_words
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
            elif tag == h and list(t[base + 2:base + ew]) == words:
                return i, free
            i = (i + 1) & self.mask
        return -1, free

    def put(self, key: bytes, value_addr: int) -> None:
        with self.lock:
            i, free = self._find(key)
            t, ew = self.table, self.entry_words
            if i >= 0:
                t[i * ew + 1] = value_addr
                return
            if free < 0 or self.used + 1 > self.cap * 3 // 4:
                self._rebuild()
                i, free = self._find(key)
            base = free * ew
            if t[base] == TAG_EMPTY:
                self.used += 1
            for j, w in enumerate(self._words(key)):
                t[base + 2 + j] = w
            t[base + 1] = value_addr
            t[base] = key_hash(key)  # last: a concurrent reader sees a whole entry

    def remove(self, key: bytes) -> None:
        with self.lock:
            i, _ = self._find(key)
            if i >= 0:
                self.table[i * self.entry_words] = TAG_DEAD

    def clear(self) -> None:
        with self.lock:
            ctypes.memset(self.table, 0, ctypes.sizeof(self.table))
            self.used = 0

    def _rebuild(self) -> None:
        """Drop deleted entries (in place)."""
        ew = self.entry_words
        live = []
        for i in range(self.cap):
            base = i * ew
            if self.table[base] > TAG_DEAD:
                live.append(list(self.table[base:base + ew]))
        ctypes.memset(self.table, 0, ctypes.sizeof(self.table))
        self.used = 0
        for entry in live:
            i = entry[0] & self.mask
            while self.table[i * ew] != TAG_EMPTY:
                i = (i + 1) & self.mask
            for j, w in enumerate(entry[1:], 1):
                self.table[i * ew + j] = w
            self.table[i * ew] = entry[0]
            self.used += 1


class IndexedEntries(OrderedDict):
    """A hash map's key -> slot dictionary that keeps a :class:`NativeIndex`
    in step (value addresses on CPU 0)."""

    def attach(self, owner: Any, index: NativeIndex, items: Any) -> None:
        """Index ``items`` (the map's current key -> slot pairs), in order."""
        self._owner = owner
        self._index = index
        for k, slot in items:
            self[k] = slot

    def __setitem__(self, key, slot) -> None:
        super().__setitem__(key, slot)
        self._index.put(key, self._owner._addr(slot, 0))

    def __delitem__(self, key) -> None:
        super().__delitem__(key)
        self._index.remove(key)

    _missing = object()

    def pop(self, key, default=_missing):
        if key in self:
            value = super().pop(key)
            self._index.remove(key)
            return value
        if default is IndexedEntries._missing:
            raise KeyError(key)
        return default

    def popitem(self, last: bool = True):
        key, value = super().popitem(last)
        self._index.remove(key)
        return key, value

    def clear(self) -> None:
        super().clear()
        self._index.clear()

    def setdefault(self, key, default=None):
        if key not in self:
            self[key] = default
        return self[key]

    def update(self, *args, **kw) -> None:  # type: ignore[override]
        for k, v in OrderedDict(*args, **kw).items():
            self[k] = v


_ATTACH_LOCK = threading.Lock()


def _hash_index(m: Any) -> NativeIndex | None:
    from ...uapi import MapType
    from ..maps.hashes import HashMap

    if type(m) is not HashMap or m.type != MapType.HASH or m.max_entries > MAX_NATIVE_HASH:
        return None
    with _ATTACH_LOCK:
        entries = m.entries
        if not isinstance(entries, IndexedEntries):
            with m._lock:
                new = IndexedEntries()
                new.attach(m, NativeIndex(m.key_size, m.max_entries), list(entries.items()))
                m.entries = new
                entries = new
        return entries._index


def describe(slots: list[Any]) -> dict[int, ArrayInfo | HashInfo]:
    """Native lookup facts for every map handle ``slots`` load with lddw."""
    from ..maps.arrays import ArrayMap

    out: dict[int, ArrayInfo | HashInfo] = {}
    for ins in slots:
        if ins is None or ins.opcode != 0x18:
            continue
        handle = ins.imm & M64
        if handle in out:
            continue
        m = MAP_HANDLES.get(handle)
        if m is None:
            continue
        if type(m) is ArrayMap:
            out[handle] = ArrayInfo([r.base for r in m.regions], m.max_entries, m.stride)
        else:
            index = _hash_index(m)
            if index is not None:
                out[handle] = HashInfo(index, getattr(m, "key_size"))  # noqa: B009
    return out
