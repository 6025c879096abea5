"""``Map``: a live eBPF map, used like a dict, whichever backend made it.

>>> import ebpf
>>> m = ebpf.Map.create(ebpf.MapSpec(name="c", type=ebpf.MapType.HASH, key_size=4,
...                                  value_size=8, max_entries=8), backend="vm")
>>> m[1] = 10
>>> m[1], 1 in m, len(m)
(10, True, 1)
>>> del m[1]; m.get(1, "gone")
'gone'

Backends subclass :class:`Map` and implement only the raw byte operations
(``lookup_bytes``, ``update_bytes``, ``delete_bytes``, ``next_key_bytes``, and
for queues/stacks ``push_bytes``/``pop_bytes``); batch operations work on every
backend, the kernel's through its batch commands (see :mod:`ebpf.mapbatch`).
"""

from __future__ import annotations

import errno as _errno
from collections.abc import ItemsView, Iterator, KeysView, MutableMapping, ValuesView
from typing import Any

from . import codec
from ._internal.closeable import Closeable
from .backend import PIN_BACKEND, get_backend
from .errors import (
    KeyExistsError,
    MapError,
    MapFullError,
    MapIndexError,
    MapTypeError,
    NotSupportedError,
)
from .mapbatch import MapBatch
from .spec import MapSpec
from .uapi import MapType
from .uapi.consts import BPF_ANY
from .uapi.consts import BPF_EXIST as BPF_EXIST
from .uapi.consts import BPF_F_LOCK as BPF_F_LOCK
from .uapi.consts import BPF_NOEXIST as BPF_NOEXIST

#: map types whose values are file descriptors (programs, maps, perf events, cgroups)
FD_VALUE_TYPES = frozenset({MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS,
                             MapType.PERF_EVENT_ARRAY, MapType.CGROUP_ARRAY})


PER_CPU_TYPES = frozenset({
    MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH,
    MapType.PERCPU_CGROUP_STORAGE,
})
ARRAY_TYPES = frozenset({
    MapType.ARRAY, MapType.PERCPU_ARRAY, MapType.PROG_ARRAY, MapType.PERF_EVENT_ARRAY,
    MapType.ARRAY_OF_MAPS, MapType.CGROUP_ARRAY,
})
KEYLESS_TYPES = frozenset({MapType.QUEUE, MapType.STACK, MapType.BLOOM_FILTER, MapType.RINGBUF})


def element_error(m: Any, op: str, code: int) -> MapError:
    """The error of element operation ``op`` ("update", "delete", "lookup") on
    map ``m`` failing with errno ``code``, worded the same for every backend:
    what was done, to which map, why (when the errno says), then the errno."""
    array = m.type in ARRAY_TYPES
    detail = ""
    if code == _errno.EEXIST:
        detail = "key exists (BPF_NOEXIST)"
    elif code == _errno.ENOENT:
        detail = "no such key (BPF_EXIST)"
    elif code == _errno.E2BIG and array:
        detail = f"index out of range (max_entries {m.max_entries})"
    elif code in (_errno.E2BIG, _errno.ENOSPC):
        detail = f"no room for a new key (max_entries {m.max_entries})"
    elif code == _errno.EINVAL and op == "delete" and m.type in (MapType.ARRAY,
                                                                  MapType.PERCPU_ARRAY):
        detail = "array elements cannot be deleted (set them to zero instead)"
    elif code in (_errno.EPERM, _errno.EACCES):
        # element operations go through a handle we already hold: EPERM means the
        # map is frozen or opened read-only, not a missing capability
        detail = "map frozen, or opened read-only"
    msg = f"{op} of map {m.name}" + (f": {detail}" if detail else "")
    if code == _errno.EEXIST:
        return KeyExistsError(msg, code)
    if code in (_errno.E2BIG, _errno.ENOSPC):
        return MapFullError(msg, code)
    return MapError(msg, code)


class Map(Closeable, MutableMapping):
    """A live map. Keys and values: see :mod:`ebpf.codec`.

    Per-CPU maps read as a list with one value per possible CPU and accept
    either such a list or a single value (written to every CPU).
    """

    backend: str = ""
    #: the Object this map was loaded with, kept alive by the map (see Object)
    _object: object | None = None

    def __init__(self, spec: MapSpec):
        self.spec = spec
        self._closed = False
        # (key signed, value decoder or None, plain int values: None or their signedness)
        self._fast: tuple[bool, Any, bool | None] | None = None

    def _fast_codec(self) -> tuple[bool, Any, bool | None]:
        """What encoding ints and decoding values needs, worked out once per map."""
        f = self._fast
        if f is None:
            dec = None
            plain = not self.per_cpu and self.type not in FD_VALUE_TYPES
            if plain and self.type is not MapType.RINGBUF:
                dec = codec.int_decoder(self.spec.value_type, self.value_size)
            f = self._fast = (codec.int_signed(self.spec.key_type), dec,
                              codec.int_signed(self.spec.value_type) if plain else None)
        return f

    # ---- identity -------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def type(self) -> MapType:
        return self.spec.type

    @property
    def key_size(self) -> int:
        return self.spec.key_size

    @property
    def value_size(self) -> int:
        return self.spec.value_size

    @property
    def max_entries(self) -> int:
        return self.spec.max_entries

    @property
    def flags(self) -> int:
        return self.spec.flags

    @property
    def per_cpu(self) -> bool:
        return self.spec.type in PER_CPU_TYPES

    @property
    def num_cpus(self) -> int:
        """Number of possible CPUs (values per key of a per-CPU map)."""
        raise NotImplementedError

    # ---- raw operations (backends implement) -------------------------------
    def lookup_bytes(self, key: bytes) -> bytes | None:
        """The value's raw bytes (all CPUs concatenated for per-CPU maps), or None."""
        raise NotImplementedError

    def update_bytes(self, key: bytes, value: bytes, flags: int = BPF_ANY) -> None:
        raise NotImplementedError

    def delete_bytes(self, key: bytes) -> bool:
        """Delete; False when the key was not there."""
        raise NotImplementedError

    def next_key_bytes(self, key: bytes | None) -> bytes | None:
        """The key after ``key`` (the first key for None); None at the end."""
        raise NotImplementedError

    def push_bytes(self, value: bytes, flags: int = BPF_ANY) -> None:
        raise NotSupportedError(f"push on a {self.type.name} map")

    def pop_bytes(self, peek: bool = False) -> bytes | None:
        raise NotSupportedError(f"pop on a {self.type.name} map")

    def close(self) -> None:
        self._closed = True

    # ---- encoding ----------------------------------------------------------
    def encode_key(self, key: Any) -> bytes:
        if type(key) is int and self.spec.key_size:
            try:
                return key.to_bytes(self.spec.key_size, "little",
                                    signed=key < 0 or (self._fast or self._fast_codec())[0])
            except OverflowError:
                pass  # codec.encode says what does not fit
        if self.key_size == 0:
            return b""
        try:
            return codec.encode(key, self.key_size, self.spec.key_type, "key")
        except MapTypeError as e:
            raise MapTypeError(f"map {self.name}: {e}") from None

    def decode_key(self, raw: bytes) -> Any:
        if self.spec.key_type is None and self.key_size in (1, 2, 4, 8):
            return int.from_bytes(raw, "little")
        return codec.decode(raw, self.spec.key_type)

    def encode_value(self, value: Any) -> bytes:
        if type(value) is int:
            signed = (self._fast or self._fast_codec())[2]
            if signed is not None:
                try:
                    return value.to_bytes(self.spec.value_size, "little",
                                          signed=signed or value < 0)
                except OverflowError:
                    pass  # codec.encode says what does not fit
        if self.type in FD_VALUE_TYPES:
            fd = value if isinstance(value, int) else getattr(value, "fd", None)
            if fd is None:
                raise MapError(f"map {self.name}: values must be file descriptors or objects with .fd")
            return int(fd).to_bytes(4, "little")
        if self.per_cpu:
            stride = codec.per_cpu_stride(self.value_size)
            n = self.num_cpus
            values = value if isinstance(value, (list, tuple)) else [value] * n
            if len(values) != n:
                raise MapError(f"map {self.name}: per-CPU value needs {n} entries, got {len(values)}")
            return b"".join(
                codec.encode(v, self.value_size, self.spec.value_type, "value").ljust(stride, b"\0")
                for v in values)
        return codec.encode(value, self.value_size, self.spec.value_type, "value")

    def decode_value(self, raw: bytes) -> Any:
        dec = (self._fast or self._fast_codec())[1]
        if dec is not None:
            return dec(raw)
        if self.per_cpu:
            stride = codec.per_cpu_stride(self.value_size)
            return [self._decode_one(raw[i * stride:i * stride + self.value_size])
                    for i in range(len(raw) // stride)]
        return self._decode_one(raw)

    def _decode_one(self, raw: bytes) -> Any:
        if self.spec.value_type is None and self.value_size in (1, 2, 4, 8) and \
                self.type not in (MapType.RINGBUF,):
            return int.from_bytes(raw, "little")
        return codec.decode(raw, self.spec.value_type)

    # ---- dict protocol -----------------------------------------------------
    def __getitem__(self, key: Any) -> Any:
        raw = self.lookup_bytes(self.encode_key(key))
        if raw is None:
            raise KeyError(key)
        return self.decode_value(raw)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.put(key, value, BPF_ANY)

    def put(self, key: Any, value: Any, flags: int = BPF_ANY) -> None:
        """Update with explicit flags (BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK)."""
        raw = self.encode_key(key)
        self.check_index(raw)
        self.update_bytes(raw, self.encode_value(value), flags)

    def check_index(self, raw_key: bytes) -> None:
        """Raise :class:`MapIndexError` for an array index past ``max_entries``
        (where the kernel answers a bare E2BIG)."""
        if self.type in ARRAY_TYPES and len(raw_key) == 4:
            index = int.from_bytes(raw_key, "little")
            if index >= self.max_entries:
                raise MapIndexError(
                    f"map {self.name}: index {index} is out of range for {self.type.name} "
                    f"map of {self.max_entries} entries (0..{self.max_entries - 1})",
                    _errno.E2BIG)

    def __delitem__(self, key: Any) -> None:
        if not self.delete_bytes(self.encode_key(key)):
            raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        try:
            return self.lookup_bytes(self.encode_key(key)) is not None
        except MapError:
            return False

    def raw_keys(self) -> Iterator[bytes]:
        """Iterate raw keys; survives entries deleted while iterating."""
        seen: set[bytes] = set()
        key = self.next_key_bytes(None)
        while key is not None:
            if key in seen:  # the kernel restarts from the first key after a delete
                key = self._skip_seen(seen)
                if key is None:
                    return
            seen.add(key)
            yield key
            key = self.next_key_bytes(key)

    def _skip_seen(self, seen: set[bytes]) -> bytes | None:
        key = self.next_key_bytes(None)
        while key is not None and key in seen:
            key = self.next_key_bytes(key)
        return key

    def __iter__(self) -> Iterator[Any]:
        for raw in self.raw_keys():
            yield self.decode_key(raw)

    def __len__(self) -> int:
        return sum(1 for _ in self.raw_keys())

    def iter_items(self) -> Iterator[tuple[Any, Any]]:
        """(key, value) pairs, one lookup per key, skipping keys deleted meanwhile.
        Backends with a faster way (batch reads) override this."""
        for raw in self.raw_keys():
            val = self.lookup_bytes(raw)
            if val is not None:
                yield self.decode_key(raw), self.decode_value(val)

    def keys(self) -> KeysView[Any]:
        """A live view of the keys (as ``dict.keys()``)."""
        return KeysView(self)

    def items(self) -> ItemsView[Any, Any]:
        """A live view of (key, value) pairs; each iteration reads the map again."""
        return _ItemsView(self)

    def values(self) -> ValuesView[Any]:
        """A live view of the values; each iteration reads the map again."""
        return _ValuesView(self)

    def clear(self) -> None:
        for raw in list(self.raw_keys()):
            self.delete_bytes(raw)

    # ---- batch operations ----------------------------------------------------
    def lookup_batch_packed(self, *, delete: bool = False) -> MapBatch:
        """Every entry at once as a :class:`ebpf.MapBatch`: keys and values packed in
        two buffers, nothing made per entry until asked for. ``delete`` empties the
        map as it reads. The kernel backend reads with BPF_MAP_LOOKUP[_AND_DELETE]_BATCH
        straight into the batch's buffers; this base reads key by key."""
        self._check_keyed("batch lookup")
        keys, values = bytearray(), bytearray()
        count = 0
        for k in list(self.raw_keys()):
            v = self.lookup_bytes(k)
            if v is None:
                continue  # deleted meanwhile
            keys += k
            values += v
            count += 1
            if delete:
                self.delete_bytes(k)
        return self._packed(keys, values, count)

    def _check_keyed(self, what: str) -> None:
        if self.key_size == 0 or self.type in KEYLESS_TYPES:
            raise NotSupportedError(what, detail=f"map {self.name} is a {self.type.name} "
                                    "map, which has no keys")

    def _packed(self, keys: Any, values: Any, count: int) -> MapBatch:
        """The batch of ``count`` records in ``keys``/``values`` (buffers laid out as
        :class:`MapBatch` says), decoding as this map does."""
        plain = self.type not in FD_VALUE_TYPES and self.type is not MapType.RINGBUF
        return MapBatch(keys, values, count, key_size=self.key_size,
                        value_size=self.value_size,
                        num_cpus=self.num_cpus if self.per_cpu else 0,
                        decode_key=self.decode_key, decode_value=self.decode_value,
                        key_code=codec.int_typecode(self.spec.key_type, self.key_size),
                        value_code=codec.int_typecode(self.spec.value_type, self.value_size)
                        if plain else None)

    def lookup_batch_bytes(self, *, delete: bool = False) -> list[tuple[bytes, bytes]]:
        """Every (key, value) as raw bytes (see :meth:`lookup_batch_packed`)."""
        return self.lookup_batch_packed(delete=delete).raw_items()

    def lookup_batch(self, *, delete: bool = False) -> list[tuple[Any, Any]]:
        """Every (key, value) decoded (see :meth:`lookup_batch_packed`)."""
        return self.lookup_batch_packed(delete=delete).tolist()

    def update_batch(self, items: Any, flags: int = BPF_ANY) -> int:
        """Write many entries (``items``: a mapping or (key, value) pairs) with
        ``flags``; returns how many were written. The kernel backend writes them in
        one system call (BPF_MAP_UPDATE_BATCH); this base one at a time."""
        pairs = items.items() if hasattr(items, "items") else items
        count = 0
        for k, v in pairs:
            self.put(k, v, flags)
            count += 1
        return count

    def delete_batch(self, keys: Any) -> int:
        """Delete many keys (the kernel backend in one system call,
        BPF_MAP_DELETE_BATCH); returns the count deleted. A missing key raises
        ``KeyError`` after the ones before it are deleted."""
        count = 0
        for k in keys:
            if not self.delete_bytes(self.encode_key(k)):
                raise KeyError(k)
            count += 1
        return count

    # ---- queue / stack -----------------------------------------------------
    def push(self, value: Any, flags: int = BPF_ANY) -> None:
        """Push onto a QUEUE/STACK map (or add to a BLOOM_FILTER)."""
        self.push_bytes(codec.encode(value, self.value_size, self.spec.value_type), flags)

    def pop(self, *default: Any) -> Any:
        """Pop from a QUEUE/STACK map; KeyError (or ``default``) when empty."""
        raw = self.pop_bytes(peek=False)
        if raw is None:
            if default:
                return default[0]
            raise KeyError("pop from an empty map")
        return self._decode_one(raw)

    def peek(self) -> Any:
        raw = self.pop_bytes(peek=True)
        if raw is None:
            raise KeyError("peek at an empty map")
        return self._decode_one(raw)

    # ---- lifecycle --------------------------------------------------------
    def pin(self, path: str) -> None:
        """Pin in bpffs so the map outlives this process (kernel backend)."""
        raise NotSupportedError("pinning", detail=f"the {self.backend} backend has no bpffs")

    @property
    def fd(self) -> int:
        raise NotSupportedError("file descriptors", detail=f"the {self.backend} backend has none")

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.name!r} {self.type.name} key={self.key_size} "
                f"value={self.value_size} max_entries={self.max_entries}>")

    # ---- constructors -------------------------------------------------------
    @classmethod
    def create(cls, spec: MapSpec, backend: str = "kernel") -> Map:
        """Create a standalone map from a spec on the given backend."""
        return get_backend(backend).create_map(spec)

    @classmethod
    def from_pin(cls, path: str) -> Map:
        """Open a map pinned in bpffs (kernel backend)."""
        return get_backend(PIN_BACKEND).open_pinned_map(path)

    @classmethod
    def from_id(cls, map_id: int) -> Map:
        """Open a kernel map by id."""
        return get_backend(PIN_BACKEND).open_map_by_id(map_id)


class _ItemsView(ItemsView):
    """``Map.items()``: iterates with the map's :meth:`Map.iter_items` (batched
    where the backend can), membership and length as for any mapping."""

    _mapping: Map

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return self._mapping.iter_items()


class _ValuesView(ValuesView):
    """``Map.values()``: the values of :meth:`Map.iter_items`."""

    _mapping: Map

    def __iter__(self) -> Iterator[Any]:
        for _, value in self._mapping.iter_items():
            yield value
