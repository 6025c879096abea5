"""Many map entries at once, packed: :class:`MapBatch`.

``Map.lookup_batch_packed()`` reads a whole map into two buffers, the keys back to
back and the values back to back, the layout ``BPF_MAP_LOOKUP_BATCH`` writes (the
kernel backend has the kernel write straight into them). Nothing per entry is made
until asked for: entries decode on demand (indexing, iteration, :meth:`tolist`),
plain integers in one call for the whole batch, and :meth:`numpy` gives NumPy
arrays that *are* the buffers (NumPy is optional).

Per-CPU maps: each entry's value is ``num_cpus`` slices of ``cpu_stride`` bytes
(``value_size`` rounded up to 8, as the kernel lays them out), the value of CPU
``c`` at the slice's start; ``value_stride`` is ``num_cpus * cpu_stride``.

>>> import ebpf
>>> m = ebpf.Map.create(ebpf.MapSpec(name="b", type=ebpf.MapType.HASH, key_size=4,
...                                  value_size=8, max_entries=8), backend="vm")
>>> m.update_batch({1: 10, 2: 20})
2
>>> b = m.lookup_batch_packed()
>>> len(b), sorted(b), b.key_size, b.value_stride, len(b.value_data)
(2, [(1, 10), (2, 20)], 4, 8, 16)
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from .codec import per_cpu_stride
from .errors import MapError

__all__ = ["MapBatch"]

#: what holds the records: bytes-like, a ctypes char array, anything with the buffer protocol
Buffer = Any


class MapBatch(Sequence[tuple[Any, Any]]):
    """``count = len(batch)`` entries of a map: :attr:`key_data` (``count * key_size``
    bytes) and :attr:`value_data` (``count * value_stride`` bytes) as read-only
    memoryviews, entry ``i`` at ``i * key_size`` and ``i * value_stride``. As a
    sequence, the entries decoded the way the map decodes them: ``(key, value)``
    pairs (so ``dict(batch)`` is the map's contents)."""

    __slots__ = ("_n", "key_size", "value_size", "num_cpus", "cpu_stride", "value_stride",
                 "_keys", "_values", "_decode_key", "_decode_value", "_key_code", "_value_code")

    def __init__(self, keys: Buffer, values: Buffer, count: int, *, key_size: int,
                 value_size: int, num_cpus: int = 0,
                 decode_key: Callable[[bytes], Any] = bytes,
                 decode_value: Callable[[bytes], Any] = bytes,
                 key_code: str | None = None, value_code: str | None = None) -> None:
        """``keys``/``values``: buffers holding at least ``count`` records (more is
        fine: the batch views the first ``count``); ``num_cpus``: 0 for maps with one
        value per key, else the CPUs of a per-CPU map; ``key_code``/``value_code``:
        ``array`` typecodes that read a key / a value (one CPU's, for per-CPU maps)
        exactly as the map decodes it, for decoding the whole batch at once."""
        self._n = count
        self.key_size = key_size
        self.value_size = value_size
        self.num_cpus = num_cpus
        self.cpu_stride = per_cpu_stride(value_size) if num_cpus else value_size
        self.value_stride = self.cpu_stride * num_cpus if num_cpus else value_size
        kv = memoryview(keys).cast("B")
        vv = memoryview(values).cast("B")
        if len(kv) < count * key_size or len(vv) < count * self.value_stride:
            raise MapError(f"batch of {count} entries: buffers of {len(kv)} and {len(vv)} "
                           f"bytes are too small")
        self._keys = kv[:count * key_size].toreadonly()
        self._values = vv[:count * self.value_stride].toreadonly()
        self._decode_key = decode_key
        self._decode_value = decode_value
        self._key_code = key_code
        self._value_code = value_code

    # ---- the packed buffers ---------------------------------------------------------
    @property
    def key_data(self) -> memoryview:
        """Every key, back to back (``count * key_size`` bytes)."""
        return self._keys

    @property
    def value_data(self) -> memoryview:
        """Every value, back to back (``count * value_stride`` bytes)."""
        return self._values

    def raw(self, i: int) -> tuple[bytes, bytes]:
        """Entry ``i`` as (key bytes, value bytes); a per-CPU value is all its slices."""
        i = self._index(i)
        ks, vs = self.key_size, self.value_stride
        return (self._keys[i * ks:(i + 1) * ks].tobytes(),
                self._values[i * vs:(i + 1) * vs].tobytes())

    def raw_items(self) -> list[tuple[bytes, bytes]]:
        """Every entry as (key bytes, value bytes), one ``bytes`` object each."""
        ks, vs, n = self.key_size, self.value_stride, self._n
        kr, vr = self._keys.tobytes(), self._values.tobytes()
        return list(zip([kr[i:i + ks] for i in range(0, n * ks, ks)],
                        [vr[j:j + vs] for j in range(0, n * vs, vs)], strict=True))

    # ---- decoded entries ---------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    def _index(self, i: int) -> int:
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(f"entry {i} of a batch of {self._n}")
        return i

    @overload
    def __getitem__(self, i: int) -> tuple[Any, Any]: ...

    @overload
    def __getitem__(self, i: slice) -> list[tuple[Any, Any]]: ...

    def __getitem__(self, i: int | slice) -> tuple[Any, Any] | list[tuple[Any, Any]]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        k, v = self.raw(i)
        return self._decode_key(k), self._decode_value(v)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        return iter(self.tolist())

    def _column(self, view: memoryview, size: int, code: str | None,
                decode: Callable[[bytes], Any]) -> list[Any]:
        if code is not None:
            ints = array(code)
            ints.frombytes(view)
            return ints.tolist()
        raw = view.tobytes()
        return [decode(raw[i:i + size]) for i in range(0, len(raw), size)]

    def tolist(self) -> list[tuple[Any, Any]]:
        """Every entry decoded: the list of (key, value) that ``Map.lookup_batch()``
        gives (plain integer keys and values, per-CPU ones too, decode in one call
        each)."""
        keys = self._column(self._keys, self.key_size, self._key_code, self._decode_key)
        if self.num_cpus and self._value_code is not None:
            values: list[Any] = self._per_cpu_ints(self._value_code)
        else:
            values = self._column(self._values, self.value_stride,
                                  None if self.num_cpus else self._value_code, self._decode_value)
        return list(zip(keys, values, strict=True))

    def _per_cpu_ints(self, code: str) -> list[list[int]]:
        """Per-CPU integer values, one list per entry, read in one call: the buffer as
        ``value_size`` items, of which every ``cpu_stride // value_size``-th starts a
        CPU's slice (1, 2, 4 and 8 all divide the 8-byte rounding)."""
        ints = array(code)
        ints.frombytes(self._values)
        flat = ints.tolist()[::self.cpu_stride // self.value_size]
        c = self.num_cpus
        return [flat[i:i + c] for i in range(0, len(flat), c)]

    def __repr__(self) -> str:
        cpus = f" x {self.num_cpus} CPUs" if self.num_cpus else ""
        return (f"<MapBatch of {self._n} entries: key={self.key_size} "
                f"value={self.value_size}{cpus}>")

    # ---- NumPy ---------------------------------------------------------------------------
    def numpy(self, key_dtype: Any = None, value_dtype: Any = None) -> tuple[Any, Any]:
        """(keys, values) as NumPy arrays sharing this batch's buffers (no copy).
        ``key_dtype``/``value_dtype`` (a NumPy dtype or a ``ctypes`` type, a prefix of
        the record) default to the map's integer type where keys/values are plain
        integers, else ``void`` records of their size. Values of a per-CPU map have
        shape ``(count, num_cpus)``."""
        try:
            import numpy as np
        except ImportError as e:
            raise MapError("MapBatch.numpy needs NumPy (pip install numpy)") from e
        kdt = self._dtype(np, key_dtype, self.key_size, self._key_code, "key")
        vdt = self._dtype(np, value_dtype, self.value_size, self._value_code, "value")
        vshape = (self._n, self.num_cpus) if self.num_cpus else (self._n,)
        if not self._n:
            return np.zeros(0, dtype=kdt), np.zeros(vshape, dtype=vdt)
        keys = np.ndarray(shape=(self._n,), dtype=kdt, buffer=self._keys,
                          strides=(self.key_size,))
        if self.num_cpus:
            strides: tuple[int, ...] = (self.value_stride, self.cpu_stride)
        else:
            strides = (self.value_stride,)
        values = np.ndarray(shape=vshape, dtype=vdt, buffer=self._values, strides=strides)
        return keys, values

    @staticmethod
    def _dtype(np: Any, dtype: Any, size: int, code: str | None, what: str) -> Any:
        if dtype is None:
            if code is not None:
                return np.dtype(f"<{'i' if code.islower() else 'u'}{size}")
            return np.dtype(f"V{size}")
        dt = np.dtype(dtype)
        if dt.itemsize > size:
            raise MapError(f"MapBatch.numpy: a {dt.itemsize}-byte {what} dtype does not fit "
                           f"{size}-byte {what}s")
        return dt
